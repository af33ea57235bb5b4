"""The bundle manifest: what each file is, where it came from, and its checksum.

Shared by the updaters in `scripts/` (which write it) and `carbon data verify` (which checks
an installed bundle against it).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def load(directory: Path) -> dict[str, Any]:
    """The manifest in `directory` (an empty one where there is none yet, for the updaters);
    a corrupt one is a BundleError naming the file."""
    from carbon.bundle import BundleError, parse_manifest

    path = directory / MANIFEST_NAME
    if not path.exists():
        return {"schema_version": SCHEMA_VERSION, "files": []}
    try:
        return parse_manifest(path, path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise BundleError(f"bundle manifest {path} is not UTF-8 text ({error.reason}): reinstall carbon") from None


def dumps(manifest: dict[str, Any]) -> str:
    """Deterministic JSON: sorted entries and keys, so the same inputs give the same bytes."""
    files = sorted(manifest.get("files", []), key=lambda entry: entry["file"])
    return json.dumps({**manifest, "files": files}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def merge_entries(manifest: dict[str, Any], entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Replace the entries for the given files and keep every other entry as it was."""
    new = {entry["file"]: entry for entry in entries}
    kept = [entry for entry in manifest.get("files", []) if entry["file"] not in new]
    return {**manifest, "schema_version": SCHEMA_VERSION, "files": kept + list(new.values())}


@dataclass(frozen=True)
class Problem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def verify(directory: Path) -> list[Problem]:
    """Every listed file exists with its recorded sha256 and row count; every CSV is listed. A missing
    or unreadable manifest is itself the problem (an empty folder is not an intact bundle)."""
    from carbon.bundle import BundleError

    if not (directory / MANIFEST_NAME).exists():
        return [Problem(MANIFEST_NAME, f"missing from {directory}: not a carbon data bundle")]
    try:
        manifest = load(directory)
    except BundleError as error:
        return [Problem(MANIFEST_NAME, str(error))]
    problems: list[Problem] = []
    listed = set()
    for entry in manifest.get("files", []):
        name = entry["file"]
        listed.add(name)
        path = directory / name
        if not path.exists():
            problems.append(Problem(name, "listed in the manifest but missing"))
            continue
        actual = sha256_file(path)
        if actual != entry.get("sha256"):
            problems.append(Problem(name, f"sha256 {actual} differs from the manifest's {entry.get('sha256')}"))
        if name.endswith(".csv") and "rows" in entry:
            rows = count_rows(path)
            if rows != entry["rows"]:
                problems.append(Problem(name, f"{rows} rows, the manifest says {entry['rows']}"))
    for path in sorted(directory.glob("*.csv")):
        if path.name not in listed:
            problems.append(Problem(path.name, "not listed in the manifest"))
    return problems
