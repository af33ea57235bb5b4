"""`carbon intensity ZONE`: look a grid intensity up, or export an hourly series, with provenance."""

from __future__ import annotations

import argparse

from carbon.cli import options

HELP = "grid intensity of a zone now, at a time, or as an hourly series"
EXAMPLES = """examples:
  carbon intensity FR
  carbon intensity GB --at 2024-03-01T14:00Z --source ukgrid,bundled
  carbon intensity DE --from 2024-03-01 --to 2024-03-02 --format csv"""

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
        type=options.text,
        help="country (FR), subdivision (US-CA, DK-84), cloud region (aws:eu-west-2) "
        "or an API's own zone (CAISO_NORTH for WattTime)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--at",
        dest="at_time",
        type=options.time,
        metavar="TIME",
        help="ISO 8601 time, e.g. 2024-03-01T14:00Z (default: now)",
    )
    when.add_argument(
        "--from",
        dest="from_time",
        type=options.time,
        metavar="T1",
        help="series start, ISO 8601, e.g. 2024-03-01 (with --to)",
    )
    parser.add_argument(
        "--to", dest="to_time", type=options.time, metavar="T2", help="series end, exclusive, ISO 8601, e.g. 2024-03-02"
    )
    parser.add_argument(
        "--source",
        type=options.text,
        help="sources to try, comma-separated (electricitymaps, watttime, ukgrid, "
        "energinet, bundled), e.g. ukgrid,bundled; default: the intensity_sources setting",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="text for people (default), json or csv (one row per hour) for programs",
    )


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
    import sys
    from datetime import datetime, timezone

    from carbon.cli import UsageError
    from carbon.cli.output import print_json
    from carbon.config import load
    from carbon.intensity.base import IntensityError
    from carbon.intensity.chain import build_chain
    from carbon.units import figure

    if (args.from_time is None) != (args.to_time is None):
        raise UsageError("--from and --to go together")
    if args.from_time is not None and args.to_time <= args.from_time:
        raise UsageError(f"--to {args.to_time:%Y-%m-%dT%H:%MZ} must be after --from {args.from_time:%Y-%m-%dT%H:%MZ}")
    chain = build_chain(load(), names=args.source.split(",") if args.source else None)
    try:
        if args.from_time is not None:
            values = chain.series(args.zone, args.from_time, args.to_time)
        else:
            values = [chain.at(args.zone, args.at_time or datetime.now(timezone.utc))]
    except IntensityError as error:  # no source has the zone and time the user asked for
        raise UsageError(str(error)) from None
    rows = [_row(v) for v in values]
    if args.format == "json":
        print_json(rows if args.from_time is not None else rows[0])
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        line = "{:<10} {:<20} {:<5}  {:>13} {:<13}  {}"
        print(line.format("ZONE", "START (UTC)", "STEP", "INTENSITY", "RANGE", "BASIS"))
        for row in rows:
            spread = f"{figure(row['intensity_g_per_kwh_low'])}-{figure(row['intensity_g_per_kwh_high'])}"
            print(
                line.format(
                    row["zone"],
                    row["start"],
                    row["granularity"],
                    f"{figure(row['intensity_g_per_kwh'])} g/kWh",
                    spread,
                    row["basis"],
                )
            )
            print(f"    {row['dataset']}: {row['detail']}")
    return 0
