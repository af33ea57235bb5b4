"""Every public cloud region: location, country, ISO 3166-2 subdivision, coordinates, zone, PUE.

The region list is hand-curated from the providers' documentation (`scripts/region_catalog.csv`,
a citation per row); Azure coordinates come from the carbon-aware-sdk table. The zone is the finest
place with intensity data: the subdivision when the bundle has a series for it (US state, Canadian
province, Indian state), else the country. PUE is the region's published figure where there is
one (Google's per-campus trailing-twelve-month PUE), else the provider's latest fleet figure.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import codes, reference
from .codes import SCRIPTS
from .rawcsv import RawDataError, fmt, parse_number, read_csv, read_text
from .table import Table

CATALOG = SCRIPTS / "region_catalog.csv"
AZURE_COORDINATES = "carbon-aware-sdk/src/data/location-sources/azure-regions.json"
GA_DATACENTERS = "green-algorithms/green-algorithms-tool/data/latest/cloudProviders_datacenters.csv"
GA_PUE_YEAR = "2020"  # the PUE column was sourced from Google's efficiency page on 2020-09-29


def _azure_coordinates(raw: Path) -> dict[str, tuple[str, str]]:
    text = read_text(raw / AZURE_COORDINATES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RawDataError(AZURE_COORDINATES, error.lineno, None, f"invalid JSON: {error.msg}") from None
    result = {}
    for region, entry in data.items():
        lat = parse_number(str(entry.get("Latitude", "")), AZURE_COORDINATES, None, f"{region}.Latitude")
        lon = parse_number(str(entry.get("Longitude", "")), AZURE_COORDINATES, None, f"{region}.Longitude")
        if lat == 0 and lon == 0:
            continue  # placeholder entries (e.g. brazilus) carry 0,0
        result[region] = (fmt(lat), fmt(lon))
    return result


def _ga_region_pues(raw: Path) -> dict[str, str]:
    result = {}
    for row in read_csv(raw / GA_DATACENTERS, ("provider", "Name", "PUE"), label=GA_DATACENTERS, skip_lines=1):
        value = row.number("PUE", required=False)
        if value is not None:
            result[f"{row.get('provider')}:{row.get('Name')}"] = fmt(value)
    return result


def build(raw: Path, pue_table: Table, subdivision_codes: set[str]) -> Table:
    coordinates = _azure_coordinates(raw)
    curated_pue = reference.region_pues()
    ga_pue = _ga_region_pues(raw)
    fleet: dict[str, tuple[str, str, str]] = {}
    for provider, year, value, scope, source in pue_table.rows:
        if scope == "fleet" and (provider not in fleet or int(year) > int(fleet[provider][1])):
            fleet[provider] = (value, year, source)
    rows, origin = [], []
    for row in read_csv(
        CATALOG,
        ("provider", "region", "location_name", "country_iso2", "subdivision_iso3166_2", "citation"),
        label="scripts/region_catalog.csv",
    ):
        provider, region = row.get("provider"), row.get("region")
        code = f"{provider}:{region}"
        subdivision = row.get("subdivision_iso3166_2")
        zone = subdivision if subdivision in subdivision_codes else row.get("country_iso2")
        lat, lon = coordinates.get(region, ("", "")) if provider == "azure" else ("", "")
        if code in curated_pue:
            value, year, source = curated_pue[code]
            pue = (value, "region", year, source)
        elif code in ga_pue:
            pue = (ga_pue[code], "region", GA_PUE_YEAR, "green-algorithms")
        elif provider in fleet:
            value, year, source = fleet[provider]
            pue = (value, "fleet", year, source)
        else:
            raise row.error("provider", f"no PUE for provider {provider!r}")
        rows.append(
            (provider, region, row.get("location_name"), row.get("country_iso2"), subdivision, lat, lon, zone, *pue)
        )
        origin.append((row.file, row.line))
    return Table(
        "cloud_regions",
        tuple(rows),
        "Public AWS, Google Cloud and Azure regions with location, ISO codes, "
        "coordinates (Azure), the grid zone used for intensity, and PUE",
        ("provider-docs", "carbon-aware-sdk", "ccf-app", "green-algorithms", "aws-pue", "dcd-pue-2024"),
        {"latitude": "decimal degrees (WGS84)", "longitude": "decimal degrees (WGS84)", "pue": "ratio"},
        tuple(origin),
    )


def subdivision_aliases() -> Table:
    """Former ISO 3166-2 codes still accepted as region codes, each resolving to the current one."""
    rows = tuple((former, current, "iso-3166-2-changes") for former, current in codes.former_codes())
    return Table(
        "subdivision_aliases",
        rows,
        "Former ISO 3166-2 subdivision codes (e.g. India's IN-TG, changed to IN-TS on 2023-11-23) and the current code",
        ("iso-3166-2-changes",),
        {},
        tuple(("scripts/iso3166_2.csv", 0) for _ in rows),
    )
