"""Rebuild `intensity_data/api_zones.csv` and its manifest entry: `python -m carbon.intensity.zones_build`.

Cloud regions come from Cloud Carbon Footprint's region -> Electricity Maps zone table (the copy
in the shared datasets folder, or `--ccf PATH`); the rest is curated here from each provider's
own zone naming (listed in SOURCES) so that every row names where it came from.
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import date
from pathlib import Path

# The shared datasets folder sits next to the checkout (../shared/datasets).
CCF_TABLE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "datasets"
    / "cloud-carbon-footprint"
    / "derived"
    / "ccf_app_region_to_electricitymaps_zone.csv"
)

SOURCES = {
    "ccf-em-zones": {
        "title": "Cloud Carbon Footprint: cloud region to Electricity Maps zone (packages/{aws,gcp,azure}/src/lib/*Regions.ts)",
        "url": "https://github.com/cloud-carbon-footprint/cloud-carbon-footprint",
        "licence": "Apache-2.0",
        "year": 2024,
        "commit": "b7a049c7d25c0022919ab9010199dd9e77aa4577",
    },
    "electricitymaps-zones": {
        "title": "Electricity Maps zone identifiers (API v3 zone naming: ISO 3166 codes, sub-national grid zones)",
        "url": "https://portal.electricitymaps.com/docs/api",
        "licence": "facts (zone names), no copyrightable content copied",
        "year": 2024,
    },
    "neso-regions": {
        "title": "NESO Carbon Intensity API region ids (1-14 DNO regions, 15 England, 16 Scotland, 17 Wales)",
        "url": "https://carbon-intensity.github.io/api-definitions/",
        "licence": "CC BY 4.0",
        "year": 2024,
    },
    "energinet-co2emis": {
        "title": "Energinet Energi Data Service CO2Emis: price areas DK1 (west of the Great Belt) and DK2 (east)",
        "url": "https://www.energidataservice.dk/tso-electricity/CO2Emis",
        "licence": "CC BY 4.0",
        "year": 2024,
    },
    "watttime-regions": {
        "title": "WattTime API v3 region names (v3/my-access, v3/region-from-loc)",
        "url": "https://docs.watttime.org",
        "licence": "facts (region names)",
        "year": 2024,
    },
}

# Countries whose Electricity Maps zone is the ISO 3166-1 code itself (single-zone grids).
EM_COUNTRY_ZONES = (
    "AT",
    "BE",
    "BG",
    "CH",
    "CY",
    "CZ",
    "DE",
    "EE",
    "ES",
    "FI",
    "FR",
    "GB",
    "GR",
    "HR",
    "HU",
    "ID",
    "IE",
    "IL",
    "IS",
    "KR",
    "LT",
    "LU",
    "LV",
    "NL",
    "PL",
    "PT",
    "RO",
    "RS",
    "SG",
    "SI",
    "SK",
    "TW",
    "UY",
    "ZA",
)
EM_CURATED = {
    "US-CA": "US-CAL-CISO",
    "CA-QC": "CA-QC",
    "CA-ON": "CA-ON",
    "CA-BC": "CA-BC",
    "CA-AB": "CA-AB",
    "US-BA-CISO": "US-CAL-CISO",
    "US-BA-ERCO": "US-TEX-ERCO",
    "US-BA-PJM": "US-MIDA-PJM",
    "US-BA-MISO": "US-MIDW-MISO",
    "US-BA-NYIS": "US-NY-NYIS",
    "US-BA-ISNE": "US-NE-ISNE",
    "US-BA-BPAT": "US-NW-BPAT",
    "US-BA-SWPP": "US-CENT-SWPP",
    "DK-81": "DK-DK1",
    "DK-82": "DK-DK1",
    "DK-83": "DK-DK1",
    "DK-84": "DK-DK2",
    "DK-85": "DK-DK2",
}
# ISO 3166-2 regions of Denmark: Nordjylland, Midtjylland, Syddanmark lie in DK1; Hovedstaden, Sjælland in DK2.
ENERGINET = {"DK-81": "DK1", "DK-82": "DK1", "DK-83": "DK1", "DK-84": "DK2", "DK-85": "DK2"}
UKGRID = {
    "GB": "national",
    "GB-ENG": "15",
    "GB-SCT": "16",
    "GB-WLS": "17",
    # London data centres -> region 13 (London); Cardiff -> region 7 (South Wales).
    "aws:eu-west-2": "13",
    "gcp:europe-west2": "13",
    "azure:uksouth": "13",
    "azure:ukwest": "7",
}
# California ISO Northern is WattTime's documented region for northern California (the Bay Area).
WATTTIME = {"US-BA-CISO": "CAISO_NORTH", "US-CA": "CAISO_NORTH"}

COLUMNS = ("our_zone", "api", "api_zone", "source")


def rows(ccf_table: Path) -> list[dict[str, str]]:
    result: dict[tuple[str, str], dict[str, str]] = {}

    def add(our: str, api: str, zone: str, source: str) -> None:
        result[(our, api)] = {"our_zone": our, "api": api, "api_zone": zone, "source": source}

    for code in EM_COUNTRY_ZONES:
        add(code, "electricitymaps", code, "electricitymaps-zones")
    for our, zone in EM_CURATED.items():
        add(our, "electricitymaps", zone, "electricitymaps-zones")
    with ccf_table.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["electricity_maps_zone"] and row["electricity_maps_zone"] != "null":
                add(
                    f"{row['provider']}:{row['region']}",
                    "electricitymaps",
                    row["electricity_maps_zone"],
                    "ccf-em-zones",
                )
    for our, zone in ENERGINET.items():
        add(our, "energinet", zone, "energinet-co2emis")
    for our, zone in UKGRID.items():
        add(our, "ukgrid", zone, "neso-regions")
    for our, zone in WATTTIME.items():
        add(our, "watttime", zone, "watttime-regions")
    return sorted(result.values(), key=lambda r: (r["api"], r["our_zone"]))


def write(directory: Path, ccf_table: Path) -> Path:
    from carbon import manifest

    table = rows(ccf_table)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    path = directory / "api_zones.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    entry = {
        "file": path.name,
        "sha256": manifest.sha256_file(path),
        "rows": len(table),
        "description": "our zones (ISO 3166-1/-2, US-BA-*, provider:region) -> live intensity API zone names",
        "columns": list(COLUMNS),
        "sources": sorted({r["source"] for r in table}),
        "licence": "Apache-2.0 (ccf-em-zones rows); the other rows are zone identifiers (facts)",
        "built": date.today().isoformat(),
    }
    current = manifest.load(directory)
    merged = manifest.merge_entries(current, [entry])
    merged["sources"] = {**current.get("sources", {}), **SOURCES}
    (directory / manifest.MANIFEST_NAME).write_text(manifest.dumps(merged), encoding="utf-8")
    return path


def main() -> None:
    from carbon.bundle import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ccf", type=Path, default=CCF_TABLE, help="CCF region -> Electricity Maps zone CSV")
    parser.add_argument("--out", type=Path, default=None, help="bundle folder (default: the installed bundle)")
    args = parser.parse_args()
    print(write(args.out or data_dir(), args.ccf))


if __name__ == "__main__":
    main()
