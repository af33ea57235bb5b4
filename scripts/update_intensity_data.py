#!/usr/bin/env python3
"""Build `intensity_data/` from the public raw datasets, or check it against its manifest.

    python scripts/update_intensity_data.py                      # download the public releases, build
    python scripts/update_intensity_data.py --from ../shared/datasets   # build offline from a raw folder
    python scripts/update_intensity_data.py --check              # verify the bundle against manifest.json

A raw folder has the layout of ../shared/datasets (one folder per dataset, see
scripts/intensity_sources/sources.py). Any bad raw row stops the build with the file, line and
column named, and leaves the bundle untouched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from update_extra import reporting_missing_extra

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "intensity_data"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="build offline from this raw-data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bundle folder (default: intensity_data/)")
    parser.add_argument("--check", action="store_true", help="only verify the bundle against its manifest")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per download (online mode)")
    return parser.parse_args(argv)


def check(out: Path) -> int:
    from carbon.manifest import verify

    problems = verify(out)
    for problem in problems:
        print(f"intensity_data: {problem}", file=sys.stderr)
    if not problems:
        print(f"{out}: every file matches manifest.json")
    return 1 if problems else 0


def build(raw: Path, out: Path, overrides: dict[str, str] | None = None) -> int:
    from intensity_sources.build import build_tables, sources_map, write, write_region_figures
    from intensity_sources.rawcsv import RawDataError

    try:
        tables = build_tables(raw)
    except RawDataError as error:
        print(f"update_intensity_data: error: {error}", file=sys.stderr)
        print("update_intensity_data: nothing was written", file=sys.stderr)
        return 1
    written = write(tables, out, sources_map(overrides))
    written.append(write_region_figures(out))
    for table in tables:
        print(f"{table.file}: {len(table.rows)} rows, years {table.years() or '-'}")
    print(f"wrote {len(written)} files to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return reporting_missing_extra("update_intensity_data", lambda: run(args))


def run(args: argparse.Namespace) -> int:
    if args.check:
        return check(args.out)
    if args.source is not None:
        if not args.source.is_dir():
            print(f"update_intensity_data: error: {args.source} is not a folder", file=sys.stderr)
            return 2
        return build(args.source, args.out)
    import tempfile
    from datetime import date

    from intensity_sources.fetch import FetchError, download_all

    with tempfile.TemporaryDirectory(prefix="carbon-raw-") as folder:
        try:
            download_all(Path(folder), timeout_s=args.timeout)
        except FetchError as error:
            print(f"update_intensity_data: error: {error}", file=sys.stderr)
            print("update_intensity_data: nothing was written", file=sys.stderr)
            return 1
        today = date.today().isoformat()
        return build(Path(folder), args.out, {"retrieved": today, "commit": f"HEAD on {today}"})


if __name__ == "__main__":
    sys.exit(main())
