"""The fallback chain, the non-blocking prefetcher and `carbon intensity` / `carbon cache`.

Bundled figures come from the test bundle (fixtures/intensity_bundle.py: FR 2023 = 56 g/kWh
lifecycle, GB 2023 = 238); live figures are what the loopback API doubles were given.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from fixtures.electricitymaps_api import ElectricityMapsApi
from fixtures.intensity_bundle import clear_caches, make_bundle
from fixtures.watttime_api import WattTimeApi

from carbon.cli import main
from carbon.config import load
from carbon.intensity.chain import ChainConfigError, build_chain, check_names
from carbon.intensity.prefetch import PENDING, IntensityPrefetcher
from carbon.model import Bounds, Energy, Location
from carbon.pricing import price

PAST = datetime(2024, 3, 5, 10, tzinfo=timezone.utc)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_DATA_DIR", str(make_bundle(tmp_path / "bundle")))
    config_file = tmp_path / "carbon.toml"
    config_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(config_file))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    for name in (
        "CARBON_ELECTRICITYMAPS_TOKEN",
        "CARBON_INTENSITY_SOURCES",
        "CARBON_WATTTIME_USERNAME",
        "CARBON_WATTTIME_PASSWORD",
        "CARBON_ELECTRICITYMAPS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    clear_caches()
    yield monkeypatch
    clear_caches()


@pytest.fixture
def em(env):
    server = ElectricityMapsApi().start()
    env.setenv("CARBON_ELECTRICITYMAPS_URL", server.base)
    env.setenv("CARBON_INTENSITY_SOURCES", "electricitymaps,bundled")
    env.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")
    env.setenv("CARBON_HTTP_TIMEOUT_S", "0.5")
    yield server
    server.stop()


def current_hour() -> datetime:
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


# --- chain ---------------------------------------------------------------------------------------


def test_chain_prefers_live_value(em):
    em.set_hour("FR", PAST, 47.0)
    value = build_chain(load()).at("FR", PAST)
    assert value.intensity_g_per_kwh.central == 47.0
    assert value.granularity == "hour" and "fallback" not in value.source.detail


def test_chain_without_key_falls_back_to_bundled_with_reason(em, env):
    env.delenv("CARBON_ELECTRICITYMAPS_TOKEN")
    value = build_chain(load()).at("FR", PAST)
    assert value.intensity_g_per_kwh.central == 56.0 and value.granularity == "year"
    assert "fallback after electricitymaps: no key" in value.source.detail
    assert em.count() == 0


@pytest.mark.parametrize(
    "mode, phrase",
    [("500", "HTTP 503"), ("malformed", "bad body"), ("429", "HTTP 429"), ("slow", "timeout after 0.5 s")],
)
def test_chain_api_failure_falls_back_with_reason(em, mode, phrase):
    em.set_hour("FR", PAST, 47.0)
    em.mode, em.delay_s = mode, 1.0
    value = build_chain(load()).at("FR", PAST)
    assert value.intensity_g_per_kwh.central == 56.0
    assert phrase in value.source.detail


def test_chain_bundled_fallback_for_cloud_region_uses_its_zone(em, env):
    env.delenv("CARBON_ELECTRICITYMAPS_TOKEN")
    value = build_chain(load()).at("aws:eu-west-2", PAST)
    assert value.intensity_g_per_kwh.central == 238.0  # GB 2023


def test_stale_cached_latest_stands_in_when_api_fails(em, tmp_path):
    hour = current_hour()
    em.set_hour("FR", hour - timedelta(hours=1), 44.0)
    chain = build_chain(load())
    chain.at("FR", hour - timedelta(hours=1))  # cached (for the latest TTL: the hour just ended)
    em.mode = "500"
    value = chain.at("FR", datetime.now(timezone.utc))
    assert value.intensity_g_per_kwh.central == 44.0
    assert "HTTP 503" in value.source.detail and "last cached electricitymaps value" in value.source.detail


def test_marginal_never_mixed_with_average():
    with pytest.raises(ChainConfigError, match="marginal"):
        check_names(["watttime", "electricitymaps", "bundled"])
    with pytest.raises(ChainConfigError, match="unknown intensity source"):
        check_names(["nope"])
    assert check_names(["WattTime", "bundled"]) == ("watttime", "bundled")


def test_marginal_fallback_says_basis_changed(env):
    server = WattTimeApi().start()
    try:
        env.setenv("CARBON_WATTTIME_URL", server.url)
        env.setenv("CARBON_WATTTIME_USERNAME", "wt-user")
        env.setenv("CARBON_WATTTIME_PASSWORD", "wrong")
        chain = build_chain(load(), names=["watttime", "bundled"])
        value = chain.at("FR", PAST)
        live, reasons = chain.live("CAISO_NORTH", PAST)
    finally:
        server.stop()
    assert value.basis == "lifecycle" and value.intensity_g_per_kwh.central == 56.0
    assert "watttime: no watttime zone for 'FR'" in value.source.detail
    assert "marginal signal unavailable" in value.source.detail
    assert live is None and reasons == ["watttime: HTTP 403: credentials refused"]


# --- prefetcher ----------------------------------------------------------------------------------


def test_prefetcher_never_blocks_and_serves_live_when_ready(em):
    hour = current_hour()
    em.set_hour("FR", hour, 31.0)
    em.delay_s = 0.3  # a slow API (within the 0.5 s timeout) must not slow the caller
    with IntensityPrefetcher(build_chain(load())) as prefetcher:
        started = time.perf_counter()
        first = prefetcher.get("FR", datetime.now(timezone.utc))
        assert time.perf_counter() - started < 0.2
        assert first.intensity_g_per_kwh.central == 56.0 and PENDING in first.source.detail
        assert prefetcher.wait(timeout_s=5.0)
        assert prefetcher.get("FR", datetime.now(timezone.utc)).intensity_g_per_kwh.central == 31.0
    assert em.count() == 1


def test_prefetcher_failure_gives_bundled_with_reason(em):
    em.mode = "500"
    with IntensityPrefetcher(build_chain(load())) as prefetcher:
        prefetcher.request("FR", PAST)
        assert prefetcher.wait(timeout_s=5.0)
        value = prefetcher.get("FR", PAST)
    assert value.intensity_g_per_kwh.central == 56.0
    assert "electricitymaps: HTTP 503" in value.source.detail


def _tracked_run(prefetcher: IntensityPrefetcher, location: Location, intervals: int):
    """What the tracker does: ask ahead, then price each interval with get() (never waiting)."""
    now = datetime.now(timezone.utc)
    prefetcher.request(location.region, now)
    prefetcher.wait(timeout_s=5.0)  # the run's first interval lasts longer than one API answer
    energy = Energy(other_kwh=Bounds.exact(0.5))
    return [price(energy, location, prefetcher.get(location.region, now), Bounds.exact(1.0)) for _ in range(intervals)]


def test_tracked_run_priced_with_api_value_for_its_hour(em):
    em.set_hour("FR", current_hour(), 31.0)
    location = Location(region="FR", zone="FR", country="FR")
    with IntensityPrefetcher(build_chain(load())) as prefetcher:
        estimates = _tracked_run(prefetcher, location, intervals=3)
    # 0.5 kWh x 31 g/kWh = 15.5 g per interval.
    assert [e.co2e_kg.central for e in estimates] == [pytest.approx(0.0155)] * 3
    assert all(e.intensity_basis == "lifecycle" and "electricitymaps" in e.sources[0].detail for e in estimates)
    assert em.count() == 1


def test_tracked_run_with_api_down_completes_with_bundled(env):
    env.setenv("CARBON_INTENSITY_SOURCES", "electricitymaps,bundled")
    env.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")
    env.setenv("CARBON_ELECTRICITYMAPS_URL", "http://127.0.0.1:9/v3")  # nothing listens on the discard port
    location = Location(region="FR", zone="FR", country="FR")
    with IntensityPrefetcher(build_chain(load())) as prefetcher:
        estimates = _tracked_run(prefetcher, location, intervals=2)
    # 0.5 kWh x 56 g/kWh (bundled FR 2023) = 28 g per interval.
    assert [e.co2e_kg.central for e in estimates] == [pytest.approx(0.028)] * 2
    assert all("electricitymaps: connection failed" in e.sources[0].detail for e in estimates)


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_intensity_at_json(em, capsys):
    em.set_hour("FR", PAST, 47.0)
    assert main(["intensity", "FR", "--at", "2024-03-05T10:30Z", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["intensity_g_per_kwh"], row["start"], row["basis"]) == (47.0, "2024-03-05T10:00:00Z", "lifecycle")


def test_cli_intensity_series_csv(em, capsys):
    for h in range(3):
        em.set_hour("FR", PAST + timedelta(hours=h), 40.0 + h)
    assert main(["intensity", "FR", "--from", "2024-03-05T10:00Z", "--to", "2024-03-05T13:00Z", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [float(r["intensity_g_per_kwh"]) for r in rows] == [40.0, 41.0, 42.0]


def test_cli_intensity_bundled_only(env, capsys):
    assert main(["intensity", "FR", "--at", "2023-06-01", "--source", "bundled"]) == 0
    assert "56.0 g/kWh" in capsys.readouterr().out


def test_cli_bad_input_is_usage_error(env, capsys):
    assert main(["intensity", "FR", "--from", "2024-01-02"]) == 2
    assert main(["intensity", "FR", "--source", "nope"]) == 2
    assert "unknown intensity source" in capsys.readouterr().err


def test_cli_cache_info_and_clear(em, capsys):
    em.set_hour("FR", PAST, 47.0)
    main(["intensity", "FR", "--at", "2024-03-05T10:00Z"])
    capsys.readouterr()
    assert main(["cache", "info", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 1
    assert main(["cache", "clear"]) == 0
    assert "removed 1 entries" in capsys.readouterr().out


def test_config_prints_intensity_sources(em, capsys):
    assert main(["config"]) == 0
    assert "electricitymaps,bundled" in capsys.readouterr().out


def test_subdivision_missing_from_bundle_falls_back_to_country(env):
    value = build_chain(load(), names=["bundled"]).at("DK-81", PAST)  # the test bundle has DK-84 only
    assert value.intensity_g_per_kwh.central == 151.0 and value.zone == "DK"
    assert "no bundled figure for DK-81: country DK used" in value.source.detail


def test_missing_key_is_not_remembered_by_the_cache(em, env):
    em.set_hour("FR", PAST, 47.0)
    env.delenv("CARBON_ELECTRICITYMAPS_TOKEN")
    assert build_chain(load()).at("FR", PAST).intensity_g_per_kwh.central == 56.0
    env.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")  # the user adds the key: used at once
    assert build_chain(load()).at("FR", PAST).intensity_g_per_kwh.central == 47.0
