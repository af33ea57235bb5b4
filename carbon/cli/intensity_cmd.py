"""`carbon intensity ZONE`: look a grid intensity up, or export an hourly series, with provenance."""

from __future__ import annotations

import argparse

FIELDS = (
    "zone",
    "start",
    "granularity",
    "intensity_g_per_kwh",
    "intensity_g_per_kwh_low",
    "intensity_g_per_kwh_high",
    "basis",
    "dataset",
    "detail",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "zone",
        help="country (FR), subdivision (US-CA, DK-84), cloud region (aws:eu-west-2) "
        "or an API's own zone (CAISO_NORTH for WattTime)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", dest="at_time", metavar="TIME", help="ISO 8601 time (default: now)")
    when.add_argument("--from", dest="from_time", metavar="T1", help="series start, ISO 8601 (with --to)")
    parser.add_argument("--to", dest="to_time", metavar="T2", help="series end, exclusive, ISO 8601")
    parser.add_argument(
        "--source",
        help="sources to try, comma-separated (electricitymaps, watttime, ukgrid, "
        "energinet, bundled); default: the intensity_sources setting",
    )
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text")


def _row(value) -> dict:
    bounds = value.intensity_g_per_kwh
    return {
        "zone": value.zone,
        "start": value.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "granularity": value.granularity,
        "intensity_g_per_kwh": bounds.central,
        "intensity_g_per_kwh_low": bounds.low,
        "intensity_g_per_kwh_high": bounds.high,
        "basis": value.basis,
        "dataset": value.source.dataset,
        "detail": value.source.detail or "",
    }


def run(args: argparse.Namespace) -> int:
    import csv
    import json
    import sys
    from datetime import datetime, timezone

    from carbon.cli import UsageError
    from carbon.config import ConfigError, load
    from carbon.intensity.base import IntensityError
    from carbon.intensity.chain import ChainConfigError, build_chain
    from carbon.units import parse_time

    if bool(args.from_time) != bool(args.to_time):
        raise UsageError("--from and --to go together")
    try:
        config = load()
        chain = build_chain(config, names=args.source.split(",") if args.source else None)
        if args.from_time:
            start, end = parse_time(args.from_time), parse_time(args.to_time)
            if end <= start:
                raise UsageError("--to must be after --from")
            values = chain.series(args.zone, start, end)
        else:
            when = parse_time(args.at_time) if args.at_time else datetime.now(timezone.utc)
            values = [chain.at(args.zone, when)]
    except (ConfigError, ChainConfigError, IntensityError, ValueError) as error:
        raise UsageError(str(error)) from None
    rows = [_row(v) for v in values]
    if args.format == "json":
        print(json.dumps(rows if args.from_time else rows[0], indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            print(
                f"{row['zone']}  {row['start']}  {row['granularity']:<5}  {row['intensity_g_per_kwh']:8.1f} g/kWh "
                f"({row['intensity_g_per_kwh_low']:.1f}-{row['intensity_g_per_kwh_high']:.1f})  {row['basis']}"
            )
            print(f"    {row['dataset']}: {row['detail']}")
    return 0
