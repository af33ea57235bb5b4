"""Intensity ranges say what they are, and are never zero-width unless the label says why.

Expected figures are read from the bundled tables (copies of the sources) in the test, or
hand-built raw rows for the updater; never from the range code under test."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from carbon.bundle import data_dir, table
from carbon.intensity.static import BundledSource, provider_published
from carbon.pricing import intensity_for
from carbon.regions import cloud_regions

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))


def _ember_zone_years() -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], list[float]]]:
    annual = {(r["iso2"], int(r["year"])): float(r["intensity_g_per_kwh"]) for r in table("countries")}
    months: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in table("countries_monthly"):
        months[(r["iso2"], int(r["year"]))].append(float(r["intensity_g_per_kwh"]))
    return annual, months


def test_annual_inside_its_months_is_labelled_months_of_the_year() -> None:
    annual, months = _ember_zone_years()
    zone, year = next(k for k in sorted(months) if k in annual and min(months[k]) < annual[k] < max(months[k]))
    value = BundledSource().year(zone, year)
    assert value.intensity_g_per_kwh.as_tuple() == (
        annual[(zone, year)],
        min(months[zone, year]),
        max(months[zone, year]),
    )
    assert value.source.detail.endswith(f"range: months of {year}")


def test_annual_outside_its_months_is_labelled_widened() -> None:
    annual, months = _ember_zone_years()
    outside = [k for k in sorted(months) if k in annual and not min(months[k]) <= annual[k] <= max(months[k])]
    assert outside, "Ember has zone-years whose annual value lies outside its months (196 of 2,266 in the 2025 data)"
    zone, year = outside[0]
    value = BundledSource().year(zone, year)
    bounds = value.intensity_g_per_kwh
    assert bounds.central == annual[(zone, year)]
    assert bounds.low == min(annual[(zone, year)], *months[zone, year])
    assert bounds.high == max(annual[(zone, year)], *months[zone, year])
    assert value.source.detail.endswith(f"range: months of {year}, widened to the annual value")


def test_annual_only_figure_is_ranged_by_its_neighbouring_years() -> None:
    # ECCC gives Quebec one figure a year and no months: 2018-2020 are 1.3 / 1.2 / 1.5 g/kWh.
    rows = {int(r["year"]): float(r["intensity_g_per_kwh"]) for r in table("subdivisions") if r["iso3166_2"] == "CA-QC"}
    value = BundledSource().year("CA-QC", 2020)
    near = [rows[y] for y in (2018, 2019, 2020) if y in rows]
    assert value.intensity_g_per_kwh.as_tuple() == (rows[2020], min(near), max(near))
    assert "source gives one annual figure: ± spread of its annual figures 2018-2020" in value.source.detail


def test_provider_figure_is_ranged_by_its_grid_zones_months() -> None:
    google = next(
        float(r["grid_intensity_g_per_kwh"])
        for r in table("cloud_region_intensity")
        if r["region"] == "europe-west1" and r["year"] == "2023"
    )
    belgium = [
        float(r["intensity_g_per_kwh"]) for r in table("countries_monthly") if (r["iso2"], r["year"]) == ("BE", "2023")
    ]
    mean = sum(belgium) / len(belgium)
    value = provider_published("gcp", "europe-west1", 2023, "BE")
    assert value.intensity_g_per_kwh.central == google
    assert value.intensity_g_per_kwh.low == pytest.approx(google * min(belgium) / mean)
    assert value.intensity_g_per_kwh.high == pytest.approx(google * max(belgium) / mean)
    assert "± spread of grid zone BE's months of 2023 relative to their mean" in value.source.detail


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_no_cloud_region_has_a_zero_width_annual_range(provider: str) -> None:
    for location in cloud_regions(provider):
        value = intensity_for(location, year=2023)
        bounds = value.intensity_g_per_kwh
        assert bounds.low < bounds.high or "no range" in value.source.detail, location.region


# --- hourly outliers ------------------------------------------------------------------------------


def test_bundled_hourly_series_has_no_reporting_gap_hours() -> None:
    """PJM's five near-empty hours (~300 MWh against a median of 93,831) priced at 43-47 g/kWh are gone,
    and the manifest counts them."""
    pjm = [float(r["intensity_g_per_kwh"]) for r in table("grid_hourly") if r["zone"] == "US-BA-PJM"]
    assert min(pjm) > 100
    manifest = json.loads((data_dir() / "manifest.json").read_text())
    entry = next(e for e in manifest["files"] if e["file"] == "grid_hourly.csv")
    assert entry["dropped"]["hours"] == {"US-BA-PJM": 5}
    assert "25%" in entry["dropped"]["rule"]


def test_updater_drops_hours_under_a_quarter_of_the_median(tmp_path: Path) -> None:
    from intensity_sources import eia930

    folder = tmp_path / eia930.FOLDER
    folder.mkdir(parents=True)
    header = "timestamp,WND,SUN,WAT,OIL,NG,COL,NUC,OTH,avg_CI\n"
    for authority in eia930.AUTHORITIES:
        lines = [f"2022-01-01 {h:02d}:00:00+00:00,0,0,0,0,1000,0,0,0,490.0\n" for h in range(9)]
        if authority == "PJM":
            lines.append("2022-01-01 09:00:00+00:00,0,0,0,0,240,0,0,0,47.0\n")  # 24 % of the median 1000
            lines.append("2022-01-01 10:00:00+00:00,0,0,0,0,260,0,0,0,46.0\n")  # 26 %: kept
        (folder / f"{authority}_NG_&_avgCI.csv").write_text(header + "".join(lines))
    built = eia930.build(tmp_path)
    pjm = [row for row in built.rows if row[0] == "US-BA-PJM"]
    assert len(pjm) == 10 and "2022-01-01T09:00:00Z" not in {row[1] for row in pjm}
    assert built.dropped["hours"] == {"US-BA-PJM": 1}
    assert sum(1 for row in built.rows if row[0] == "US-BA-AZPS") == 9
