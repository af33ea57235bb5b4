"""`carbon regions`: every region code we can price, with its grid zone and latest intensity."""

from __future__ import annotations

import argparse

HELP = "list region codes with their grid zone and intensity"
EXAMPLES = """examples:
  carbon regions
  carbon regions --provider aws
  carbon regions --provider gcp --format json"""

_HEADER = ("REGION", "ZONE", "g/kWh", "YEAR", "BASIS", "NAME")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=("aws", "gcp", "azure"), help="only this provider's regions, e.g. aws")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )


def region_rows(provider: str | None = None) -> list[dict]:
    """Every region code (of `provider`, or all) with its zone and latest bundled intensity; also
    the service's GET /v1/regions."""
    from carbon.pricing import intensity_for
    from carbon.regions import all_regions

    rows: list[dict] = []
    for location in all_regions(provider):
        value = intensity_for(location)
        rows.append(
            {
                "region": location.region,
                "name": location.name,
                "provider": location.provider,
                "zone": location.zone,
                "country": location.country,
                "intensity_g_per_kwh": value.intensity_g_per_kwh.central,
                "year": value.start.year,
                "basis": value.basis,
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    from carbon.cli.output import print_json
    from carbon.units import figure

    rows = region_rows(args.provider)
    if args.format == "json":
        print_json(rows)
        return 0
    line = "{:<28} {:<8} {:>7}  {:<4}  {:<11} {}"
    print(line.format(*_HEADER))
    for row in rows:
        print(
            line.format(
                row["region"],
                row["zone"],
                figure(row["intensity_g_per_kwh"]),
                row["year"],
                row["basis"],
                row["name"] or "",
            )
        )
    return 0
