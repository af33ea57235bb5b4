"""Coverage: every provider region in the curated catalog resolves to its grid zone with a cited
source; current ISO 3166-2 codes with the former ones as aliases; eGRID subregions by code."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import carbon
from carbon.bundle import table
from carbon.regions import UnknownRegion, all_regions, resolve

CATALOG = Path(__file__).resolve().parents[1] / "scripts" / "region_catalog.csv"


def _catalog() -> list[dict[str, str]]:
    with CATALOG.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_catalog_region_resolves_to_its_zone_with_a_citation():
    with_series = {r["iso3166_2"] for r in table("subdivisions")}
    rows = _catalog()
    assert len(rows) >= 153
    for row in rows:
        assert row["citation"].startswith("https://"), row["region"]
        location = resolve(f"{row['provider']}:{row['region']}")
        sub = row["subdivision_iso3166_2"]
        assert location.zone == (sub if sub in with_series else row["country_iso2"]), row["region"]
        assert carbon.estimate(location.region, energy_kwh=1.0, year=2023).co2e_kg.central > 0


@pytest.mark.parametrize(
    ("code", "country", "subdivision"),
    [
        ("azure:chinaeast", "CN", "CN-SH"),
        ("azure:chinaeast2", "CN", "CN-SH"),
        ("azure:chinaeast3", "CN", "CN-SH"),
        ("azure:chinanorth", "CN", "CN-BJ"),
        ("azure:chinanorth2", "CN", "CN-BJ"),
        ("azure:chinanorth3", "CN", "CN-HE"),
        ("gcp:asia-southeast3", "TH", "TH-10"),
        ("azure:usgovvirginia", "US", "US-VA"),
        ("azure:usgovtexas", "US", "US-TX"),
        ("azure:usgovarizona", "US", "US-AZ"),
        ("azure:usdodeast", "US", "US-VA"),
        ("azure:usdodcentral", "US", "US-IA"),
        ("aws:us-gov-east-1", "US", "US-OH"),
        ("aws:us-gov-west-1", "US", "US-OR"),
        ("aws:cn-north-1", "CN", None),
        ("aws:cn-northwest-1", "CN", None),
        ("aws:eusc-de-east-1", "DE", "DE-BB"),
    ],
)
def test_china_sovereign_and_government_regions(code, country, subdivision):
    location = resolve(code)
    assert location.country == country and location.subdivision == subdivision
    # The grid zone: the state where the bundle has a series for it (US states), else the country.
    assert location.zone == (subdivision if country == "US" else country)


@pytest.mark.parametrize(
    ("former", "current", "name"),
    [
        ("IN-CT", "IN-CG", "Chhattisgarh"),
        ("IN-OR", "IN-OD", "Odisha"),
        ("IN-TG", "IN-TS", "Telangana"),
        ("IN-UT", "IN-UK", "Uttarakhand"),
    ],
)
def test_current_indian_codes_with_the_former_as_aliases(former, current, name):
    """ISO 3166-2:IN changed these four codes on 2023-11-23."""
    rows = [r for r in table("subdivisions") if r["iso3166_2"] == current]
    assert rows and rows[0]["name"] == name and not [r for r in table("subdivisions") if r["iso3166_2"] == former]
    assert resolve(current).region == current
    assert resolve(former) == resolve(current)
    assert resolve(former.lower()).zone == current


def test_aws_hyderabad_is_in_telangana_under_its_current_code():
    assert resolve("aws:ap-south-2").zone == "IN-TS"


@pytest.mark.parametrize("code", ["US-EGRID-CAMX", "egrid:CAMX", "egrid:camx", "us-egrid-camx"])
def test_egrid_subregions_are_reachable_by_code(code):
    row = next(r for r in table("egrid_subregions") if r["subregion"] == "CAMX")
    location = resolve(code)
    assert location.region == location.zone == "US-EGRID-CAMX" and location.country == "US"
    estimate = carbon.estimate(code, energy_kwh=1.0, year=2022)
    assert estimate.intensity_basis == "direct" == row["basis"]
    assert estimate.intensity_g_per_kwh.central == float(row["co2e_g_per_kwh"])
    # eGRID has one annual figure: ranged by the US grid's months of the year, relative to their mean.
    us = [
        float(r["intensity_g_per_kwh"]) for r in table("countries_monthly") if (r["iso2"], r["year"]) == ("US", "2022")
    ]
    bounds = estimate.intensity_g_per_kwh
    assert bounds.low == pytest.approx(float(row["co2e_g_per_kwh"]) * min(us) / (sum(us) / len(us)))
    assert bounds.high == pytest.approx(float(row["co2e_g_per_kwh"]) * max(us) / (sum(us) / len(us)))


def test_every_egrid_subregion_is_listed_and_an_unknown_one_is_refused():
    listed = {location.region for location in all_regions()}
    assert {"US-EGRID-" + r["subregion"] for r in table("egrid_subregions")} <= listed
    with pytest.raises(UnknownRegion, match="did you mean US-EGRID-CAMX"):
        resolve("US-EGRID-CAMY")
