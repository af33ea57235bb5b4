"""`carbon data status|verify`: what the bundled datasets are, and whether they are intact.

`status` lists each table with its years, age, sources and licence (from manifest.json);
`verify` checks every file against its recorded sha256 and row count (exit 1 with the problems).
Both read the bundle `carbon` uses: `intensity_data/`, or CARBON_DATA_DIR when set.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    status = actions.add_parser("status", help="each table: years, age, sources, licence")
    status.add_argument("--format", choices=("text", "json"), default="text")
    actions.add_parser("verify", help="check the installed bundle against manifest.json (exit 1 on a mismatch)")


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


def status_rows(directory, today=None) -> list[dict]:
    """One dict per manifest entry, with the full citation of each source id."""
    from datetime import date

    from carbon.manifest import load

    manifest = load(directory)
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
    import json

    from carbon.bundle import data_dir

    directory = data_dir()
    rows = status_rows(directory)
    if args.format == "json":
        print(json.dumps({"data_dir": str(directory), "tables": rows}, indent=2, ensure_ascii=False))
        return 0
    print(f"bundle: {directory}")
    for row in rows:
        age = f"{row['age_days']} d old" if row["age_days"] is not None else "age unknown"
        print(
            f"{row['file']:<28} {str(row['rows']):>7} rows  years {row['years'] or '-':<10} {age:<12} "
            f"{', '.join(s['id'] for s in row['sources'])}"
        )
        print(f"{'':<28} licence: {row['licence']}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    import sys

    from carbon.bundle import data_dir
    from carbon.manifest import load, verify

    directory = data_dir()
    if not directory.is_dir():
        print(f"carbon data verify: {directory} is not a folder", file=sys.stderr)
        return 1
    problems = verify(directory)
    if problems:
        print(f"carbon data verify: {len(problems)} problem(s) in {directory}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"ok: {len(load(directory).get('files', []))} files in {directory} match manifest.json")
    return 0


def run(args: argparse.Namespace) -> int:
    return _status(args) if args.action == "status" else _verify(args)
