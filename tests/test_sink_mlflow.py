"""MLflow sink against a real local tracking store (SQLite in tmp_path), read back with MlflowClient."""

from __future__ import annotations

import json
import sys
import time

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import carbon


@pytest.fixture(autouse=True)
def _store(monkeypatch, tmp_path):
    monkeypatch.delenv("CARBON_REGION", raising=False)
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.chdir(tmp_path)  # the store's default artifact root is ./mlruns: keep it in tmp_path
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


def _run_tracked(**options) -> carbon.Estimate:
    with carbon.track(region="FR", interval_s=0.15, write=False, detect=False, mlflow=True, **options) as tracker:
        time.sleep(0.5)
    return tracker.estimate


def test_track_mlflow_starts_a_run_and_logs_intervals_params_and_artifacts(tmp_path):
    estimate = _run_tracked()
    assert mlflow.active_run() is None  # the run it started is ended with it
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["carbon_region"] == "FR" and params["carbon_zone"] == "FR"
    assert params["carbon_cpu_method"] == "modelled"
    assert float(params["carbon_hardware_vcpus"]) > 0
    co2e = client.get_metric_history(run.info.run_id, "carbon_co2e_kg")
    energy = client.get_metric_history(run.info.run_id, "carbon_energy_kwh")
    intensity = client.get_metric_history(run.info.run_id, "carbon_intensity_g_per_kwh")
    steps = sorted(m.step for m in co2e)
    assert steps == list(range(len(steps))) and len(steps) >= 3
    # each interval: kg = kWh x g/kWh / 1000
    by_step = {m.step: m.value for m in energy}
    for m, i in zip(sorted(co2e, key=lambda m: m.step), sorted(intensity, key=lambda m: m.step)):
        assert m.value == pytest.approx(by_step[m.step] * i.value / 1000.0)
    assert sum(m.value for m in co2e) == pytest.approx(estimate.co2e_kg.central)
    total = client.get_metric_history(run.info.run_id, "carbon_co2e_kg_total")
    assert max(total, key=lambda m: m.step).value == pytest.approx(estimate.co2e_kg.central)
    final = run.data.metrics  # the run totals with their ranges
    co2e_range = estimate.co2e_kg
    assert final["carbon_run_co2e_kg"] == pytest.approx(co2e_range.central)
    assert final["carbon_run_co2e_kg_low"] == pytest.approx(co2e_range.low)
    assert final["carbon_run_co2e_kg_high"] == pytest.approx(co2e_range.high)
    assert co2e_range.low < co2e_range.high  # modelled CPU: a real range, not a point
    power = client.get_metric_history(run.info.run_id, "carbon_power_cpu_w")
    assert all(m.value > 0 for m in power)
    names = {a.path for a in client.list_artifacts(run.info.run_id, "carbon")}
    assert names == {"carbon/carbon_summary.json", "carbon/carbon_summary.tex"}
    local = client.download_artifacts(run.info.run_id, "carbon", str(tmp_path / "dl"))
    summary = json.loads((tmp_path / "dl" / "carbon" / "carbon_summary.json").read_text())
    assert summary["co2e_kg"] == pytest.approx(estimate.co2e_kg.central)
    assert "kgCO$_2$e" in (tmp_path / "dl" / "carbon" / "carbon_summary.tex").read_text()
    assert local


def test_track_mlflow_logs_to_the_active_run_and_leaves_it_open():
    with mlflow.start_run(run_name="training") as active:
        mlflow.log_param("lr", "0.1")
        _run_tracked()
        assert mlflow.active_run().info.run_id == active.info.run_id
    client = MlflowClient()
    run = client.get_run(active.info.run_id)
    assert run.data.params["lr"] == "0.1" and run.data.params["carbon_region"] == "FR"
    assert len(client.get_metric_history(active.info.run_id, "carbon_co2e_kg")) >= 3
    experiment = client.get_experiment_by_name("Default").experiment_id
    assert len(client.search_runs([experiment])) == 1  # no second run was created


def test_carbon_run_mlflow_logs_the_command_run(tmp_path):
    from carbon.cli import main

    status = main(
        ["run", "--region", "FR", "--interval", "0.15", "--output", str(tmp_path / "runs"), "--mlflow", "--"]
        + [sys.executable, "-c", "import time; time.sleep(0.6)"]
    )
    assert status == 0
    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("Default").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["carbon.command"].endswith("time.sleep(0.6)'")
    assert len(client.get_metric_history(run.info.run_id, "carbon_co2e_kg")) >= 3
    assert {a.path for a in client.list_artifacts(run.info.run_id, "carbon")} == {
        "carbon/carbon_summary.json",
        "carbon/carbon_summary.tex",
    }


def test_carbon_run_mlflow_resumes_the_run_named_by_mlflow_run_id(tmp_path, monkeypatch):
    from carbon.cli import main

    with mlflow.start_run(run_name="pipeline-step") as made:
        pass
    monkeypatch.setenv("MLFLOW_RUN_ID", made.info.run_id)
    command = ["run", "--region", "FR", "--interval", "0.15", "--output", str(tmp_path / "runs"), "--mlflow", "--"]
    assert main([*command, sys.executable, "-c", "import time; time.sleep(0.5)"]) == 0
    client = MlflowClient()
    run = client.get_run(made.info.run_id)
    assert run.info.run_name == "pipeline-step"
    assert len(client.get_metric_history(made.info.run_id, "carbon_co2e_kg")) >= 2
