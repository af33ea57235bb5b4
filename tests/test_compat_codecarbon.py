"""CodeCarbon compatibility: a CodeCarbon script runs after its import line changes, and writes
the emissions.csv header CodeCarbon writes."""

from __future__ import annotations

import csv
import runpy
import sys
import warnings
from pathlib import Path

import pytest

from carbon.compat import CompatibilityWarning, OfflineEmissionsTracker, track_emissions
from carbon.errors import UserInputError

SCRIPT = Path(__file__).parent / "fixtures" / "codecarbon_script" / "train_codecarbon.py"
CODECARBON_IMPORT = "from codecarbon import EmissionsTracker, OfflineEmissionsTracker, track_emissions\n"
CARBON_IMPORT = "from carbon.codecarbon import EmissionsTracker, OfflineEmissionsTracker, track_emissions\n"

# CodeCarbon's emissions.csv header as CodeCarbon 3.3.2 itself writes it (its EmissionsData
# dataclass, fields in order; copied from the file an OfflineEmissionsTracker wrote); units per its
# docs/edit/output.rst.
CODECARBON_HEADER = (
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,"
    "cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,"
    "country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,"
    "codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,"
    "ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,"
    "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue"
)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.setenv("CARBON_REGION", "FR")  # the online tracker's place, without detection
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)


def test_codecarbon_script_runs_unchanged_and_writes_its_header(tmp_path, monkeypatch, capsys):
    original = SCRIPT.read_text()
    assert original.count(CODECARBON_IMPORT) == 1
    script = tmp_path / "train.py"
    script.write_text(original.replace(CODECARBON_IMPORT, CARBON_IMPORT))  # the one line a user changes
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    lines = (tmp_path / "emissions.csv").read_text().splitlines()
    assert lines[0] == CODECARBON_HEADER
    rows = list(csv.DictReader(lines))
    assert [r["project_name"] for r in rows] == ["ctx", "decorated", "explicit"]
    assert [r["country_iso_code"] for r in rows] == ["FRA", "FRA", "DEU"]
    assert [r["on_cloud"] for r in rows] == ["N", "N", "N"]
    for r in rows:
        duration, emissions, energy = float(r["duration"]), float(r["emissions"]), float(r["energy_consumed"])
        assert duration > 0 and emissions > 0 and energy > 0
        # units as documented: kg, kWh, kg/s; energy_consumed = cpu + gpu + ram energy
        assert float(r["emissions_rate"]) == pytest.approx(emissions / duration)
        parts = float(r["cpu_energy"]) + float(r["gpu_energy"]) + float(r["ram_energy"])
        assert parts == pytest.approx(energy)
        # the mean CPU power (W) over the run times its duration is the CPU energy before PUE
        assert float(r["cpu_power"]) * duration / 3.6e6 == pytest.approx(float(r["cpu_energy"]) / float(r["pue"]))
        # kg CO2e = kWh x g/kWh / 1000, at the country's bundled intensity
        intensity = emissions * 1000 / energy
        assert 10 < intensity < 1000
    # stop() returns the row's emissions in kg, as a float
    value = float(printed.split("EMISSIONS ")[1].split()[0])
    assert value == pytest.approx(float(rows[2]["emissions"]))
    assert "TASK load" in printed


def test_stop_returns_float_kg_and_task_totals_add_up(tmp_path):
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), measure_power_secs=1)
    tracker.start()
    tracker.start_task("a")
    task = tracker.stop_task()
    total = tracker.stop()
    assert isinstance(total, float)
    assert task.task_name == "a" and 0 <= task.emissions <= total
    assert tracker.stop() == total  # a second stop() changes nothing and writes no second row
    assert len((tmp_path / "emissions.csv").read_text().splitlines()) == 2


def test_unhonoured_arguments_give_one_warning_naming_them(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        OfflineEmissionsTracker(
            country_iso_code="FRA", output_dir=str(tmp_path), save_to_api=True, api_key="k", save_to_logger=False
        )
    ours = [w for w in caught if issubclass(w.category, CompatibilityWarning)]
    assert len(ours) == 1
    text = str(ours[0].message)
    assert "save_to_api" in text and "api_key" in text
    assert "save_to_logger" not in text  # passed with CodeCarbon's default: nothing to warn about


def test_bad_place_and_unknown_argument_fail_before_work(tmp_path):
    with pytest.raises(UserInputError, match="country_iso_code"):
        OfflineEmissionsTracker(output_dir=str(tmp_path))
    with pytest.raises(UserInputError, match="unknown region"):
        OfflineEmissionsTracker(country_iso_code="XYZ", output_dir=str(tmp_path))
    with pytest.raises(UserInputError):
        track_emissions(offline=True)
    with pytest.raises(TypeError, match="no_such_option"):
        OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path), no_such_option=1)


def test_cloud_provider_and_region_price_the_cloud_region(tmp_path):
    tracker = OfflineEmissionsTracker(
        cloud_provider="gcp", cloud_region="europe-west1", output_dir=str(tmp_path), measure_power_secs=1
    )
    with tracker:
        pass
    row = next(csv.DictReader((tmp_path / "emissions.csv").open()))
    assert (row["on_cloud"], row["cloud_provider"], row["cloud_region"]) == ("Y", "gcp", "europe-west1")
    assert row["country_iso_code"] == "BEL"


def test_a_foreign_emissions_csv_is_set_aside_not_overwritten(tmp_path):
    (tmp_path / "emissions.csv").write_text("a,b\n1,2\n")
    with OfflineEmissionsTracker(country_iso_code="FRA", output_dir=str(tmp_path)):
        pass
    assert (tmp_path / "emissions.csv.bak").read_text() == "a,b\n1,2\n"
    assert (tmp_path / "emissions.csv").read_text().splitlines()[0] == CODECARBON_HEADER


def test_region_names_as_codecarbon_takes_them(tmp_path):
    with OfflineEmissionsTracker(country_iso_code="USA", region="california", output_dir=str(tmp_path)):
        pass
    with OfflineEmissionsTracker(country_iso_code="CAN", region="Quebec", output_dir=str(tmp_path)):
        pass
    rows = list(csv.DictReader((tmp_path / "emissions.csv").open()))
    assert [(r["country_iso_code"], r["region"]) for r in rows] == [("USA", "US-CA"), ("CAN", "CA-QC")]
    # Quebec's hydro grid and California's differ by more than a factor of ten
    intensity = [float(r["emissions"]) / float(r["energy_consumed"]) * 1000 for r in rows]
    assert intensity[1] * 10 < intensity[0]
