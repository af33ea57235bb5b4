"""A tracked run's summary is the sum of its interval records (energy and CO2e, every end)."""

from __future__ import annotations

import time

import pytest

import carbon
from carbon.sinks.jsonl import read_run_log


def test_summary_equals_the_sum_of_its_intervals(tmp_path):
    with carbon.track(
        region="FR", interval_s=0.1, output_dir=str(tmp_path), detect=False, on_note=lambda _: None
    ) as tracker:
        deadline = time.monotonic() + 0.45
        while time.monotonic() < deadline:  # keep a CPU busy so the modelled energy is not all idle
            sum(range(1000))
    records = read_run_log(tracker.run_log)
    summary = tracker.estimate.to_dict()
    assert len(records) >= 3 and summary["intervals"] == len(records)
    for key in ("energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high"):
        assert summary[key] == pytest.approx(sum(r[key] for r in records), rel=1e-9), key
    for part in ("cpu_kwh", "ram_kwh"):
        assert summary["breakdown"][part] == pytest.approx(sum(r["breakdown"][part] for r in records), rel=1e-9)
    assert summary["duration_s"] == pytest.approx(sum(r["duration_s"] for r in records), rel=1e-9)
