"""`carbon data status|verify`: what the bundled datasets are, and whether they are intact.

`status` lists each table with its years, age, sources and licence (from manifest.json);
`verify` checks every file against its recorded sha256 and row count (exit 1 with the problems).
Both read the bundle `carbon` uses: `intensity_data/`, or CARBON_DATA_DIR when set.
"""

from __future__ import annotations

import argparse

HELP = "status and verification of the bundled datasets"
EXAMPLES = """examples:
  carbon data status
  carbon data status --format json
  carbon data verify
  CARBON_DATA_DIR=./my-bundle carbon data verify"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser(
        "status",
        help="each table: years, age, sources, licence",
        description="each table: years, age, sources, licence",
        epilog="example:\n  carbon data status --format json",
        formatter_class=parser.formatter_class,
    )
    status.set_defaults(_prog=status.prog)
    status.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )
    verify = actions.add_parser(
        "verify",
        help="check the installed bundle against manifest.json (exit 1 on a mismatch)",
        description="check the installed bundle against manifest.json (exit 1 on a mismatch)",
        epilog="example:\n  carbon data verify",
        formatter_class=parser.formatter_class,
    )
    verify.set_defaults(_prog=verify.prog)


def _age_days(entry: dict, today) -> int | None:
    from datetime import date

    stamp = entry.get("retrieved") or entry.get("built")
    try:
        return (today - date.fromisoformat(str(stamp))).days
    except ValueError:
        return None


def _years(value) -> str:
    """Manifest writers record years as "2000-2024", a list of years, or not at all."""
    if isinstance(value, (list, tuple)):
        years = sorted(int(y) for y in value)
        return "" if not years else str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"
    return "" if value is None else str(value)


def _manifest(directory) -> dict:
    """The bundle's manifest, or a DataError naming what is wrong with it (exit 1, one line)."""
    import json

    from carbon.errors import DataError
    from carbon.manifest import MANIFEST_NAME, load

    if not directory.is_dir():
        raise DataError(f"the data folder {directory} does not exist or is not a folder")
    if not (directory / MANIFEST_NAME).is_file():
        raise DataError(f"no {MANIFEST_NAME} in {directory}: not a carbon data bundle")
    try:
        manifest = load(directory)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{directory / MANIFEST_NAME} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list) or not manifest["files"]:
        raise DataError(f"{directory / MANIFEST_NAME} lists no files")
    return manifest


def status_rows(directory, today=None) -> list[dict]:
    """One dict per manifest entry, with the full citation of each source id."""
    from datetime import date

    manifest = _manifest(directory)
    sources = manifest.get("sources", {})
    today = today or date.today()
    rows = []
    for entry in sorted(manifest.get("files", []), key=lambda e: e["file"]):
        rows.append(
            {
                "file": entry["file"],
                "rows": entry.get("rows"),
                "years": _years(entry.get("years")),
                "retrieved": entry.get("retrieved") or entry.get("built"),
                "age_days": _age_days(entry, today),
                "licence": entry.get("licence", ""),
                "sources": [{"id": s, **sources.get(s, {})} for s in entry.get("sources", [])],
            }
        )
    return rows


def _status(args: argparse.Namespace) -> int:
    from carbon.bundle import data_dir
    from carbon.cli.output import print_json

    directory = data_dir()
    rows = status_rows(directory)
    if args.format == "json":
        print_json({"data_dir": str(directory), "tables": rows})
        return 0
    print(f"bundle: {directory}")
    line = "{:<28} {:>7}  {:<10} {:<12} {}"
    print(line.format("FILE", "ROWS", "YEARS", "AGE", "SOURCES"))
    for row in rows:
        age = f"{row['age_days']} d old" if row["age_days"] is not None else "unknown"
        rows_shown = f"{row['rows']:,}" if isinstance(row["rows"], int) else "-"
        print(
            line.format(row["file"], rows_shown, row["years"] or "-", age, ", ".join(s["id"] for s in row["sources"]))
        )
        print(f"{'':<28} licence: {row['licence']}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import sys

    from carbon.bundle import data_dir
    from carbon.manifest import verify

    directory = data_dir()
    manifest = _manifest(directory)
    problems = verify(directory)
    if problems:
        print(f"carbon data verify: {len(problems)} problem(s) in {directory}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"ok: {len(manifest['files'])} files in {directory} match manifest.json")
    return 0


def run(args: argparse.Namespace) -> int:
    return _status(args) if args.action == "status" else _verify(args)
