"""Source ids in the bundled tables -> the full citation the manifest holds for them."""

from __future__ import annotations

from carbon.bundle import BundleError, manifest


def describe(source_id: str) -> tuple[str, int | None, str | None]:
    """(dataset title, year of the figures, licence) for a source id; the id itself if unlisted."""
    try:
        entry = manifest().get("sources", {}).get(source_id)
    except BundleError:
        entry = None
    if not entry:
        return source_id, None, None
    year = entry.get("year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError):
        year = None
    return entry.get("title", source_id), year, entry.get("licence")
