"""Our zones (ISO 3166-1/-2, US-BA-*, provider:region) -> each live API's own zone names.

The table `intensity_data/api_zones.csv` holds every mapping with its source id. A cloud region
with no row of its own falls back to its location's subdivision, then its grid zone, then its
country, so that a new region still finds the national series. WattTime region names (they all
contain "_", e.g. CAISO_NORTH) pass through unchanged, for users who know their region.
"""

from __future__ import annotations

from carbon.bundle import derived, table
from carbon.intensity.http import NotConfigured


@derived
def _table() -> dict[tuple[str, str], str]:
    return {(row["api"], row["our_zone"].upper()): row["api_zone"] for row in table("api_zones")}


def _candidates(zone: str) -> list[str]:
    candidates = [zone]
    if ":" in zone:
        from carbon.regions import UnknownRegion, resolve

        try:
            location = resolve(zone)
        except UnknownRegion:
            return candidates
        candidates += [c for c in (location.subdivision, location.zone, location.country) if c]
    return candidates


def api_zone(api: str, zone: str) -> str:
    """The API's zone name for our zone; NotConfigured (no request made) when it has none."""
    table = _table()
    for candidate in _candidates(zone.strip()):
        found = table.get((api, candidate.upper()))
        if found:
            return found
    if api == "watttime" and "_" in zone:
        return zone.strip().upper()
    known = sorted(our for source, our in table if source == api)
    sample = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    raise NotConfigured(f"no {api} zone for {zone!r} (mapped zones: {sample})")
