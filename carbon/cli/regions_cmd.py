"""`carbon regions`: every region code we can price, with its grid zone and latest intensity."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=("aws", "gcp", "azure"), help="only this provider's regions")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def region_rows(provider: str | None = None) -> list[dict]:
    """Every region code (of `provider`, or all) with its zone and latest bundled intensity; also
    the service's GET /v1/regions."""
    from carbon.pricing import intensity_for
    from carbon.regions import all_regions

    rows = []
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
    rows = region_rows(args.provider)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['region']:<28} {row['zone']:<8} {row['intensity_g_per_kwh']:>8.1f} g/kWh  {row['year']}  "
            f"{row['basis']:<11} {row['name'] or ''}"
        )
    return 0
