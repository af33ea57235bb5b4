"""Prometheus export scraped over loopback and parsed with prometheus_client's own parser; `carbon
monitor` as a process: daily log, endpoint, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import carbon
from carbon.errors import UserInputError
from carbon.sinks.jsonl import read_run_log
from carbon.sinks.prometheus_sink import PrometheusSink

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch, tmp_path):
    monkeypatch.delenv("CARBON_REGION", raising=False)
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)


def scrape(port: int) -> dict[str, list]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def record(seq: int, cpu_kwh: float, ram_kwh: float, co2e_kg: float, intensity: float) -> dict:
    return {
        "seq": seq,
        "region": "FR",
        "duration_s": 10.0,
        "breakdown": {
            "cpu_kwh": cpu_kwh,
            "gpu_kwh": 0.0,
            "ram_kwh": ram_kwh,
            "other_kwh": 0.0,
            "cpu_method": "measured:rapl",
            "ram_method": "modelled",
        },
        "co2e_kg": co2e_kg,
        "intensity_g_per_kwh": intensity,
        "intensity_granularity": "hour",
    }


def test_exported_names_labels_and_values_by_hand():
    sink = PrometheusSink(0)
    sink.open({"run_id": "r"})
    try:
        sink.interval(record(0, cpu_kwh=1e-4, ram_kwh=2e-5, co2e_kg=6e-6, intensity=50.0))
        sink.interval(record(1, cpu_kwh=3e-4, ram_kwh=2e-5, co2e_kg=1.8e-5, intensity=60.0))
        families = scrape(sink.port)
    finally:
        sink.close({})
    energy = {s.labels["component"]: s for s in families["carbon_energy_joules"]}
    assert energy["cpu"].name == "carbon_energy_joules_total"  # counters carry _total
    assert energy["cpu"].labels == {"component": "cpu", "region": "FR", "method": "measured:rapl"}
    assert energy["cpu"].value == pytest.approx((1e-4 + 3e-4) * 3.6e6)  # 1440 J
    assert energy["ram"].value == pytest.approx(4e-5 * 3.6e6)  # 144 J
    assert "gpu" not in energy  # no GPU energy and no method: no series
    power = {s.labels["component"]: s.value for s in families["carbon_power_watts"]}
    assert power["cpu"] == pytest.approx(3e-4 * 3.6e6 / 10.0)  # last interval: 1080 J over 10 s = 108 W
    (emissions,) = [s for s in families["carbon_emissions_grams"] if s.name.endswith("_total")]
    assert emissions.value == pytest.approx((6e-6 + 1.8e-5) * 1000)  # 0.024 g
    assert emissions.labels == {"region": "FR", "method": "hour"}
    (intensity,) = families["carbon_grid_intensity_grams_per_kwh"]
    assert intensity.value == 60.0


def test_track_with_prometheus_port_serves_live_figures():
    with carbon.track(region="FR", interval_s=0.15, write=False, detect=False, prometheus_port=0) as tracker:
        (sink,) = [s for s in tracker.sinks if isinstance(s, PrometheusSink)]
        time.sleep(0.6)
        families = scrape(sink.port)
    cpu = [s for s in families["carbon_energy_joules"] if s.labels["component"] == "cpu"]
    assert cpu and cpu[0].value > 0 and cpu[0].labels["method"] == "modelled"
    assert families["carbon_grid_intensity_grams_per_kwh"][0].labels["region"] == "FR"
    assert sink.server is None  # closed with the run


def test_a_port_in_use_fails_before_the_work():
    first = PrometheusSink(0)
    first.open({"run_id": "a"})
    try:
        with pytest.raises(UserInputError, match="cannot serve Prometheus metrics"):
            carbon.Tracker(region="FR", write=False, detect=False, prometheus_port=first.port).start()
    finally:
        first.close({})


def test_carbon_monitor_exports_logs_daily_and_stops_cleanly_on_sigterm(tmp_path):
    env = {**os.environ, "CARBON_CONFIG": str(tmp_path / "carbon.toml"), "PYTHONPATH": str(REPO)}
    env["CARBON_POWERCAP_ROOT"] = str(tmp_path / "no-powercap")
    command = [sys.executable, "-m", "carbon", "monitor", "--region", "FR", "--interval", "0.2"]
    command += ["--log-dir", str(tmp_path / "logs"), "--prometheus-port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        line = process.stderr.readline()
        assert "metrics on http://127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        deadline = time.monotonic() + 30
        while True:
            families = scrape(port)
            emitted = [s for s in families.get("carbon_emissions_grams", []) if s.name.endswith("_total")]
            if emitted and emitted[0].value > 0:
                break
            assert time.monotonic() < deadline, "no emissions exported"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "carbon monitor: stopped" in rest
    (log,) = (tmp_path / "logs").glob("monitor-*.jsonl")
    assert log.name == f"monitor-{read_run_log(log)[0]['start'][:10]}.jsonl"
    records = read_run_log(log)
    assert len(records) >= 2 and [r["seq"] for r in records] == list(range(len(records)))
    assert all(r["schema"] == "carbon.run/1" and r["region"] == "FR" for r in records)


def test_daily_log_rotates_at_the_utc_date_of_each_interval(tmp_path):
    from carbon.sinks.daily_jsonl import DailyJsonlSink

    sink = DailyJsonlSink(tmp_path)
    sink.open({"start": "2026-12-01T23:00:00.000000Z"})
    sink.interval({"seq": 0, "start": "2026-12-01T23:59:50.000000Z"})
    sink.interval({"seq": 1, "start": "2026-12-02T00:00:00.000000Z"})
    sink.close({})
    sink = DailyJsonlSink(tmp_path)  # a restarted monitor appends to the day's file
    sink.open({"start": "2026-12-02T00:05:00.000000Z"})
    sink.interval({"seq": 0, "start": "2026-12-02T00:05:00.000000Z"})
    sink.close({})
    assert [r["seq"] for r in read_run_log(tmp_path / "monitor-2026-12-01.jsonl")] == [0]
    assert [r["seq"] for r in read_run_log(tmp_path / "monitor-2026-12-02.jsonl")] == [1, 0]


def test_grafana_dashboard_queries_only_exported_metrics():
    import json
    import re

    dashboard = json.loads((REPO / "docs" / "grafana-carbon.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"carbon_[a-z_]+", expr)}
    exported = {
        "carbon_energy_joules_total",
        "carbon_power_watts",
        "carbon_emissions_grams_total",
        "carbon_grid_intensity_grams_per_kwh",
    }
    assert used and used <= exported


def test_carbon_monitor_bad_options_are_one_line_errors(tmp_path, capsys):
    from carbon.cli import main

    assert main(["monitor", "--region", "NOWHERE", "--log-dir", str(tmp_path / "logs")]) == 2
    assert "unknown region" in capsys.readouterr().err
    assert main(["monitor", "--region", "FR", "--prometheus-port", "70000", "--log-dir", str(tmp_path)]) == 2
    assert "between 0 and 65535" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def test_carbon_run_prometheus_port_is_scraped_by_the_command_itself(tmp_path):
    """The measured command scrapes carbon's endpoint while it runs (a real client over loopback)."""
    import socket

    from carbon.cli import main

    with socket.socket() as probe:  # a free port for carbon run to bind
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scraped = tmp_path / "scraped.txt"
    child = (
        "import time, urllib.request\n"
        "time.sleep(0.8)\n"
        f"text = urllib.request.urlopen('http://127.0.0.1:{port}/metrics', timeout=5).read()\n"
        f"open({str(scraped)!r}, 'wb').write(text)\n"
    )
    command = ["run", "--region", "FR", "--interval", "0.2", "--output", str(tmp_path / "runs")]
    assert main([*command, "--prometheus-port", str(port), "--", sys.executable, "-c", child]) == 0
    families = {f.name: f.samples for f in text_string_to_metric_families(scraped.read_text())}
    (emitted,) = [s for s in families["carbon_emissions_grams"] if s.name == "carbon_emissions_grams_total"]
    assert emitted.value > 0 and emitted.labels["region"] == "FR"
    assert {s.labels["component"] for s in families["carbon_power_watts"]} == {"cpu", "ram"}
