"""A tracked run with an Electricity Maps token is priced with the API's value for its hour; the same
run with the API down completes with the bundled value and the reason recorded."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from fixtures.electricitymaps_api import ElectricityMapsApi

import carbon
from datasets import csv_rows


@pytest.fixture
def live_env(tmp_path, monkeypatch):
    (tmp_path / "carbon.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_INTENSITY_SOURCES", "electricitymaps,bundled")
    monkeypatch.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")
    monkeypatch.setenv("CARBON_HTTP_TIMEOUT_S", "0.5")
    return monkeypatch


def _track(tmp_path) -> carbon.Estimate:
    tracker = carbon.Tracker(region="FR", interval_s=0.2, output_dir=str(tmp_path / "runs"), on_note=lambda _: None)
    tracker.start()
    time.sleep(1.2)
    return tracker.stop()


def test_tracked_run_is_priced_with_the_api_value_for_its_hour(tmp_path, live_env):
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    api = ElectricityMapsApi().start()
    try:
        for h in range(-1, 3):  # the run may cross an hour boundary
            api.set_hour("FR", hour + timedelta(hours=h), 31.0)
        live_env.setenv("CARBON_ELECTRICITYMAPS_URL", api.base)
        estimate = _track(tmp_path)
        assert api.count() >= 1
    finally:
        api.stop()
    assert estimate.intensity_g_per_kwh.central == pytest.approx(31.0)
    assert "electricitymaps" in estimate.sources[0].detail or "Electricity Maps" in estimate.sources[0].dataset
    assert estimate.co2e_kg.central == pytest.approx(estimate.energy_kwh.central * 31.0 / 1000)


def test_tracked_run_with_the_api_down_uses_the_bundled_value_and_says_why(tmp_path, live_env):
    live_env.setenv("CARBON_ELECTRICITYMAPS_URL", "http://127.0.0.1:9/v3")  # nothing listens on the discard port
    france = {
        int(r["year"]): float(r["emissions_intensity_gco2_per_kwh"])
        for r in csv_rows("ember/data/api_country_overview_yearly.csv")
        if r["country_code"] == "FRA"
    }
    estimate = _track(tmp_path)
    # This year is past the data: Ember's latest French year stands in, and the detail says why.
    assert estimate.intensity_g_per_kwh.central == pytest.approx(france[max(france)])
    assert "electricitymaps" in estimate.sources[0].detail and "connection failed" in estimate.sources[0].detail
