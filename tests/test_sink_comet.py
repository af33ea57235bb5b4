"""Comet sink with the real comet_ml package: an OfflineExperiment, read back from the archive it writes."""

from __future__ import annotations

import json
import sys
import time
import zipfile

import comet_ml
import pytest

import carbon
from carbon.errors import UserInputError


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.delenv("CARBON_REGION", raising=False)
    monkeypatch.delenv("CARBON_COMET_AUTO", raising=False)
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setenv("COMET_DISABLE_AUTO_LOGGING", "1")


def offline_experiment(folder):
    return comet_ml.OfflineExperiment(
        offline_directory=str(folder),
        project_name="carbon-test",
        log_code=False,
        log_graph=False,
        auto_param_logging=False,
        auto_metric_logging=False,
        auto_output_logging=False,
        log_env_details=False,
        log_git_metadata=False,
        log_git_patch=False,
        display_summary_level=0,
    )


def read_archive(folder):
    (archive,) = folder.glob("*.zip")
    with zipfile.ZipFile(archive) as zipped:
        messages = [json.loads(line) for line in zipped.read("messages.json").decode().splitlines() if line]
        files = {name: zipped.read(name) for name in zipped.namelist()}
    return messages, files


def test_running_offline_experiment_gets_metrics_params_and_artifacts(tmp_path):
    experiment = offline_experiment(tmp_path / "comet")
    try:
        with carbon.track(region="FR", interval_s=0.15, write=False, detect=False) as tracker:  # comet: automatic
            time.sleep(0.5)
    finally:
        experiment.end()
    estimate = tracker.estimate
    messages, files = read_archive(tmp_path / "comet")
    metrics = [m["payload"]["metric"] for m in messages if m["type"] == "metric_msg"]
    co2e = sorted((m["step"], float(m["metricValue"])) for m in metrics if m["metricName"] == "carbon_co2e_kg")
    assert [step for step, _ in co2e] == list(range(len(co2e))) and len(co2e) >= 3
    assert sum(value for _, value in co2e) == pytest.approx(estimate.co2e_kg.central)
    names = {m["metricName"] for m in metrics}
    assert {"carbon_energy_kwh", "carbon_power_cpu_w", "carbon_intensity_g_per_kwh", "carbon_co2e_kg_total"} <= names
    finals = {m["metricName"]: float(m["metricValue"]) for m in metrics if m["metricName"].startswith("carbon_run_")}
    assert finals["carbon_run_co2e_kg_high"] == pytest.approx(estimate.co2e_kg.high)
    params = {
        m["payload"]["param"]["paramName"]: m["payload"]["param"]["paramValue"]
        for m in messages
        if m["type"] == "parameter_msg"
    }
    assert params["carbon_region"] == "FR" and params["carbon_cpu_method"] == "modelled"
    uploads = {
        m["payload"]["additional_params"]["fileName"]: m["payload"]["file_path"]
        for m in messages
        if m["type"] == "file_upload"
    }
    assert set(uploads) == {"carbon_summary.json", "carbon_summary.tex"}
    summary = json.loads(files[uploads["carbon_summary.json"]])
    assert summary["co2e_kg"] == pytest.approx(estimate.co2e_kg.central)
    assert b"kgCO$_2$e" in files[uploads["carbon_summary.tex"]]


def test_comet_auto_off_and_comet_required(tmp_path, monkeypatch):
    experiment = offline_experiment(tmp_path / "comet")
    try:
        monkeypatch.setenv("CARBON_COMET_AUTO", "false")
        assert not any(type(s).__name__ == "CometSink" for s in carbon.Tracker(region="FR", write=False).sinks)
        assert any(type(s).__name__ == "CometSink" for s in carbon.Tracker(region="FR", write=False, comet=True).sinks)
    finally:
        experiment.end()
    with pytest.raises(UserInputError, match="no comet_ml experiment is running"):
        carbon.Tracker(region="FR", write=False, detect=False, comet=True).start()
