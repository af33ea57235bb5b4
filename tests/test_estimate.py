"""Offline estimates: arithmetic checked by hand against the raw public datasets.

Expected figures are computed here from the raw public datasets' rows (the samples in
tests/fixtures/raw, copied byte for byte from ../shared/datasets, which a user's clone does not
need), never read back from the code under test. The CLI runs in-process so the suite's network guard
(tests/conftest.py) proves that no connection is attempted.
"""

from __future__ import annotations

import csv
import json
import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carbon
from carbon.cli import main
from carbon.model import Bounds
from datasets import csv_rows, read_text


def _ember(file: str, column: str, name: str, year: int) -> float:
    for row in csv_rows(f"ember/data/{file}"):
        if row[column] == name and int(row["year"]) == year:
            return float(row["emissions_intensity_gco2_per_kwh"])
    raise KeyError((name, year))


def ember_country(iso3: str, year: int) -> float:
    return _ember("api_country_overview_yearly.csv", "country_code", iso3, year)


def ember_state(state: str, year: int) -> float:
    return _ember("api_overview_usa_yearly.csv", "state", state, year)


def google_region(region: str, year: int) -> float:
    for row in csv.reader(
        read_text(f"google-region-carbon-info/region-carbon-info/data/yearly/{year}.csv").splitlines()
    ):
        if row and row[0] == region:
            return float(row[3])
    raise KeyError((region, year))


def specpower_coefficients(*model_lists: str) -> tuple[float, float]:
    """CCF's method by hand: SPECpower runs whose CPU description ends with a listed model; mean of
    idle / threads and of full load / threads, to the 4 decimals the bundle keeps."""
    ccf = "cloud-carbon-footprint/ccf-coefficients/data"
    models = tuple(
        " " + line.strip()
        for name in model_lists
        for line in read_text(f"{ccf}/{name}.csv").lstrip("\ufeff").splitlines()
        if line.strip()
    )
    runs = [
        r for r in csv_rows(f"{ccf}/SPECpower-2026-03-09.csv") if (" " + r["CPU Description"].strip()).endswith(models)
    ]
    idle = statistics.mean(float(r["avg. watts @ active idle"]) / float(r["Total Threads"]) for r in runs)
    full = statistics.mean(float(r["avg. watts @ 100%"]) / float(r["Total Threads"]) for r in runs)
    return round(idle, 4), round(full, 4)


def run_json(capsys, *args: str) -> dict:
    assert main(["estimate", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_energy_in_a_country_and_year(capsys):
    # 10 kWh of IT energy in France in 2022; not a cloud region, so the on-premises PUE of 1.0.
    intensity = ember_country("FRA", 2022)
    result = run_json(capsys, "--region", "FR", "--energy-kwh", "10", "--year", "2022")
    assert result["intensity_g_per_kwh"] == pytest.approx(intensity)
    assert result["pue"] == 1.0
    assert result["energy_kwh"] == pytest.approx(10.0)
    assert result["co2e_kg"] == pytest.approx(10.0 * intensity / 1000.0)
    assert result["sources"]["intensity"]["year"] == 2022
    assert result["intensity_basis"] == "lifecycle"
    assert result["location"] == {"provider": None, "region": "FR", "zone": "FR", "country": "FR"}


def test_alpha3_name_and_alpha2_are_the_same_place(capsys):
    a = run_json(capsys, "--region", "FRA", "--energy-kwh", "1")
    b = run_json(capsys, "--region", "france", "--energy-kwh", "1")
    c = run_json(capsys, "--region", "fr", "--energy-kwh", "1")
    assert a["co2e_kg"] == b["co2e_kg"] == c["co2e_kg"]


def test_us_state_uses_the_state_grid(capsys):
    intensity = ember_state("California", 2023)
    result = run_json(capsys, "--region", "US-CA", "--energy-kwh", "2", "--year", "2023")
    assert result["intensity_g_per_kwh"] == pytest.approx(intensity)
    assert result["co2e_kg"] == pytest.approx(2 * intensity / 1000)


def test_google_region_uses_googles_published_figure(capsys):
    intensity = google_region("europe-west1", 2023)
    result = run_json(capsys, "--region", "GCP:Europe-West1", "--energy-kwh", "1", "--year", "2023", "--pue", "1.1")
    assert result["intensity_g_per_kwh"] == pytest.approx(intensity)
    assert result["sources"]["intensity"]["method"] == "provider-published"
    assert result["intensity_basis"] == "operational"  # Google's 2021+ figures
    assert result["co2e_kg"] == pytest.approx(1 * 1.1 * intensity / 1000)


def test_m5_xlarge_worked_example(capsys):
    """The README's worked example: m5.xlarge, 1 h at 50 % CPU in aws:us-east-1 (Virginia).

    m5.xlarge: 4 vCPUs, 16 GiB, Intel Xeon Platinum 8175M, a Skylake part (CCF's instance table).
    Skylake per thread: the SPECpower runs of CCF's three Skylake lists, by CCF's method (76 runs,
    0.6171 / 4.1077 W); W = 4 x (min + 0.5 (max - min)). Memory 16 GiB x 0.392 W per GiB.
    IT energy x 1 h; facility energy x AWS PUE; x Virginia's intensity.
    """
    rows = csv_rows("cloud-carbon-footprint/derived/ccf_app_aws_ec2_instance_types.csv")
    row = next(r for r in rows if r["instance_type"] == "m5.xlarge")
    assert (float(row["vcpus"]), float(row["memory_gb"]), row["cpu_microarchitectures"]) == (4.0, 16.0, "Skylake")
    min_w, max_w = specpower_coefficients("intel-skylake", "intel-skylake-server", "intel-skylake-client")
    assert (min_w, max_w) == (0.6171, 4.1077)
    cpu_w = 4 * (min_w + 0.5 * (max_w - min_w))
    ram_w = 16 * 0.392
    result = run_json(
        capsys,
        "--region",
        "aws:us-east-1",
        "--instance-type",
        "m5.xlarge",
        "--duration",
        "1h",
        "--cpu-util",
        "50%",
        "--year",
        "2023",
    )
    assert result["breakdown"]["cpu_kwh"] == pytest.approx(cpu_w / 1000, rel=1e-9)
    assert result["breakdown"]["ram_kwh"] == pytest.approx(ram_w / 1000, rel=1e-9)
    assert result["location"]["zone"] == "US-VA"
    assert result["intensity_g_per_kwh"] == pytest.approx(ember_state("Virginia", 2023))
    pue = result["pue"]
    assert result["energy_kwh"] == pytest.approx((cpu_w + ram_w) / 1000 * pue)
    assert result["co2e_kg"] == pytest.approx(result["energy_kwh"] * result["intensity_g_per_kwh"] / 1000)
    assert result["energy_kwh_low"] < result["energy_kwh"] < result["energy_kwh_high"]
    assert {"intensity", "pue", "cpu_power", "memory_power"} <= set(result["sources"])


def test_latex_snippet_names_the_factors(capsys):
    assert (
        main(
            [
                "estimate",
                "--region",
                "aws:us-east-1",
                "--instance-type",
                "m5.xlarge",
                "--duration",
                "1h",
                "--cpu-util",
                "0.5",
                "--latex",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "kgCO$_2$e" in out and "@software{carbon_tool" in out
    assert "aws:us-east-1" in out and "m5.xlarge" in out and "PUE" in out
    assert carbon.__version__ in out


def test_summary_shows_equivalents_and_comparison(capsys):
    assert main(["estimate", "--region", "aws:eu-west-1", "--instance-type", "m5.xlarge", "--duration", "3h"]) == 0
    out = capsys.readouterr().out
    for text in (
        "CO2e:",
        " m driven",  # 15 g at ~120 g/km is ~126 m: the distance in metres below 1 km
        "miles driven",
        "hours of television",
        "household",
        "full smartphone charges",
        "Same work on aws:",
        "(lowest)",
        "(highest)",
        "Warning: CPU utilisation not given",
    ):
        assert text in out


def test_unknown_region_exits_2_with_suggestions(capsys):
    assert main(["estimate", "--region", "aws:us-east-9", "--energy-kwh", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown region 'aws:us-east-9'" in err[0] and "aws:us-east-1" in err[0]


def test_unknown_country_name_suggests(capsys):
    assert main(["estimate", "--region", "Frnace", "--energy-kwh", "1"]) == 2
    assert "France" in capsys.readouterr().err


def test_unknown_provider(capsys):
    assert main(["estimate", "--region", "oracle:us-ashburn-1", "--energy-kwh", "1"]) == 2
    assert "unknown provider 'oracle'" in capsys.readouterr().err


@pytest.mark.parametrize("duration, message", [("-3h", "must not be negative"), ("3 parsecs", "unknown duration unit")])
def test_bad_duration_exits_2(capsys, duration, message):
    assert main(["estimate", "--region", "FR", "--cpus", "4", f"--duration={duration}"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_unknown_instance_type_exits_2(capsys):
    assert main(["estimate", "--region", "aws:us-east-1", "--instance-type", "zz9.plural", "--duration", "1h"]) == 2
    assert "unknown aws instance type 'zz9.plural'" in capsys.readouterr().err


def test_unlisted_size_of_a_known_family_is_estimated_with_a_warning():
    result = carbon.estimate("aws:us-east-1", instance_type="m5.40xlarge", duration_s=3600)
    assert result.hardware.vcpus == 160
    assert any("not in the bundled catalog" in w and "m5" in w for w in result.warnings)


def test_unknown_cpu_model_warns_and_widens():
    # a model whose TDP and thread count the table knows (SPECpower runs: 38 cores, 76 threads)
    known = carbon.estimate("DE", cpu_model="Intel Xeon Platinum 8368Q", cpus=40, duration_s=3600, cpu_util=0.5)
    unknown = carbon.estimate("DE", cpu_model="Frobnicator 9000", cpus=40, duration_s=3600, cpu_util=0.5)
    assert not any("unknown CPU model" in w for w in known.warnings)
    assert any("unknown CPU model 'Frobnicator 9000'" in w for w in unknown.warnings)
    assert unknown.sources[-1].method in ("default", "dataset")
    spread = lambda e: e.energy.cpu_kwh.high / e.energy.cpu_kwh.low  # noqa: E731
    assert spread(unknown) > spread(known)


def test_unknown_gpu_model_warns():
    result = carbon.estimate("US", cpus=8, gpus=2, gpu_model="Imaginary X1", duration_s=3600, gpu_util=0.5)
    assert any("unknown GPU model 'Imaginary X1'" in w for w in result.warnings)
    assert result.energy.gpu_kwh.central > 0


def test_known_gpu_uses_its_tdp():
    # 1 h, 1 GPU at 100 %: draws its TDP. The A100 SXM4 80GB is a 400 W part (NVIDIA datasheet, mlco2 gpus.csv).
    result = carbon.estimate("US", cpus=1, gpus=1, gpu_model="NVIDIA A100-SXM4-80GB", duration_s=3600, gpu_util=1.0)
    assert result.energy.gpu_kwh.central == pytest.approx(0.4)


def test_energy_and_hardware_together_is_an_error(capsys):
    assert main(["estimate", "--region", "FR", "--energy-kwh", "1", "--cpus", "2"]) == 2
    assert "either --energy-kwh or the hardware" in capsys.readouterr().err


def test_unknown_utilisation_widens_the_range():
    known = carbon.estimate("FR", cpus=8, memory_gb=32, duration_s=3600, cpu_util=0.5)
    unknown = carbon.estimate("FR", cpus=8, memory_gb=32, duration_s=3600)
    assert unknown.energy_kwh.low < known.energy_kwh.low
    assert unknown.energy_kwh.high > known.energy_kwh.high


regions = st.sampled_from(["FR", "US-TX", "aws:us-east-1", "gcp:europe-west4", "azure:westeurope", "IN", "CA-QC"])
utils = st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    regions,
    st.integers(min_value=1, max_value=192),
    st.floats(min_value=0, max_value=2048, allow_nan=False),
    st.integers(min_value=0, max_value=8),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    utils,
    utils,
    st.one_of(st.none(), st.integers(min_value=1995, max_value=2030)),
)
def test_ranges_are_ordered_and_co2e_is_energy_times_intensity(
    region, cpus, memory_gb, gpus, duration_s, cpu_util, gpu_util, year
):
    result = carbon.estimate(
        region,
        cpus=cpus,
        memory_gb=memory_gb,
        gpus=gpus,
        gpu_model="T4" if gpus else None,
        duration_s=duration_s,
        cpu_util=cpu_util,
        gpu_util=gpu_util,
        year=year,
    )
    for bounds in (result.energy_kwh, result.co2e_kg, result.intensity_g_per_kwh, result.pue):
        assert isinstance(bounds, Bounds)
        assert bounds.low <= bounds.central <= bounds.high
    data = result.to_dict()
    assert data["co2e_kg"] == pytest.approx(data["energy_kwh"] * data["intensity_g_per_kwh"] / 1000, rel=1e-12, abs=0)
    assert data["co2e_kg_low"] <= data["co2e_kg"] <= data["co2e_kg_high"]


def test_monthly_start_uses_the_month():
    # Ember publishes monthly figures for Germany; a start time picks the month's value.
    from datetime import datetime, timezone

    from carbon.intensity.static import BundledSource

    value = BundledSource().at("DE", datetime(2023, 7, 15, tzinfo=timezone.utc))
    assert value.granularity == "month"
    result = carbon.estimate("DE", energy_kwh=1, start=datetime(2023, 7, 15, tzinfo=timezone.utc))
    assert result.intensity_g_per_kwh.central == value.intensity_g_per_kwh.central


def test_year_beyond_the_data_uses_latest_and_says_so():
    result = carbon.estimate("FR", energy_kwh=1, year=2031)
    source = result.to_dict()["sources"]["intensity"]
    assert "2031 asked" in source["detail"]
    years = [
        int(r["year"]) for r in csv_rows("ember/data/api_country_overview_yearly.csv") if r["country_code"] == "FRA"
    ]
    assert source["year"] == max(years)


def test_annual_range_is_the_monthly_spread():
    from carbon.intensity.static import BundledSource

    value = BundledSource().year("DE", 2022)
    months = [
        BundledSource().at("DE", __import__("datetime").datetime(2022, m, 1)).intensity_g_per_kwh.central
        for m in range(1, 13)
    ]
    assert value.intensity_g_per_kwh.low == pytest.approx(min(min(months), value.intensity_g_per_kwh.central))
    assert value.intensity_g_per_kwh.high == pytest.approx(max(max(months), value.intensity_g_per_kwh.central))
    assert statistics.mean(months) == pytest.approx(value.intensity_g_per_kwh.central, rel=0.15)


def test_balancing_authority_is_priced_by_the_hour():
    """US-BA-CISO has an hourly 2022 series (EIA-930 via SustainDC): a start time picks its hour,
    a year alone gives the mean of the year's hours with the lowest and highest hour as range."""
    from datetime import datetime, timezone

    rows = [r for r in csv_rows("eia930-hourly-2022/data/CarbonIntensity/CISO_NG_&_avgCI.csv") if r["avg_CI"]]
    hour_value = next(float(r["avg_CI"]) for r in rows if r["timestamp"].startswith("2022-06-01 13:00"))
    values = [float(r["avg_CI"]) for r in rows]
    at_hour = carbon.estimate("US-BA-CISO", energy_kwh=1, start=datetime(2022, 6, 1, 13, 30, tzinfo=timezone.utc))
    # The bundle keeps three decimals of g/kWh.
    assert at_hour.intensity_g_per_kwh.central == pytest.approx(hour_value, abs=5e-4)
    annual = carbon.estimate("us-ba-ciso", energy_kwh=1, year=2022).intensity_g_per_kwh
    assert annual.central == pytest.approx(statistics.mean(values), abs=5e-4)
    assert (annual.low, annual.high) == (pytest.approx(min(values), abs=5e-4), pytest.approx(max(values), abs=5e-4))
