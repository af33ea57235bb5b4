"""The shared disk cache: one upstream request for many lookups, TTLs, failures, corruption.

Requests are counted at the loopback server, i.e. what really went over the wire.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from datetime import datetime, timedelta, timezone

import pytest
from fixtures.electricitymaps_api import ElectricityMapsApi
from fixtures.intensity_bundle import clear_caches, make_bundle
from fixtures.intensity_worker import lookup

from carbon.intensity.cache import CachedSource, IntensityCache
from carbon.intensity.electricitymaps import ElectricityMapsSource
from carbon.intensity.http import FetchError

PAST = datetime(2024, 3, 5, 10, tzinfo=timezone.utc)


@pytest.fixture
def bundle_dir(tmp_path, monkeypatch):
    directory = make_bundle(tmp_path / "bundle")
    monkeypatch.setenv("CARBON_DATA_DIR", str(directory))
    clear_caches()
    yield directory
    clear_caches()


@pytest.fixture
def em():
    server = ElectricityMapsApi().start()
    for hour in range(24):
        server.set_hour("FR", PAST.replace(hour=0) + timedelta(hours=hour), 40.0 + hour)
    yield server
    server.stop()


def cached(em, tmp_path, **cache_options) -> CachedSource:
    return CachedSource(
        ElectricityMapsSource("em-test-token", base_url=em.base), IntensityCache(tmp_path / "cache", **cache_options)
    )


@pytest.mark.parametrize("latest", [False, True], ids=["past-hour", "latest"])
def test_many_processes_one_upstream_request(em, tmp_path, bundle_dir, latest):
    current = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    em.set_hour("FR", current, 50.0)
    when = datetime.now(timezone.utc) if latest else PAST
    em.delay_s = 0.5  # the first answer is slow, so every process is waiting at once
    processes = 6
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(
            target=lookup,
            args=(em.base, str(tmp_path / "cache"), str(bundle_dir), "FR", when.isoformat(), barrier, results),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert answers == [("ok", 50.0)] * processes  # past: hour 10 -> 40 + 10; latest: set to 50 above
    assert em.count("/latest" if latest else "/past-range") == 1
    assert em.count("/v3/carbon-intensity") == 1


def test_historical_hour_cached_for_good_and_neighbours_prefilled(em, tmp_path, bundle_dir):
    source = cached(em, tmp_path)
    assert source.at("FR", PAST).intensity_g_per_kwh.central == 50.0
    # The one request fetched the rest of the day (hours 10..23) too: they cost nothing now.
    assert source.at("FR", PAST + timedelta(hours=5)).intensity_g_per_kwh.central == 55.0
    assert em.count() == 1
    # A new process-level object over the same folder (another process, later) still hits.
    again = cached(em, tmp_path)
    assert again.at("FR", PAST + timedelta(hours=3)).intensity_g_per_kwh.central == 53.0
    assert em.count() == 1


def test_latest_value_kept_for_ttl_only(em, tmp_path, bundle_dir):
    current = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    em.set_hour("FR", current, 33.0)
    source = cached(em, tmp_path, latest_ttl_s=0.5)
    now = datetime.now(timezone.utc)
    assert source.at("FR", now).intensity_g_per_kwh.central == 33.0
    assert source.at("FR", now).intensity_g_per_kwh.central == 33.0
    assert em.count("/latest") == 1
    time.sleep(0.7)
    em.set_hour("FR", current, 35.0)
    # asked for "now" again (the earlier moment is in the past by now, and may be served as history)
    assert source.at("FR", datetime.now(timezone.utc)).intensity_g_per_kwh.central == 35.0
    assert em.count("/latest") == 2


def test_failure_cached_briefly(em, tmp_path, bundle_dir):
    em.mode = "500"
    source = cached(em, tmp_path, failure_ttl_s=60)
    for _ in range(3):
        with pytest.raises(FetchError, match="HTTP 503"):
            source.at("FR", PAST)
    assert em.count() == 1


def test_429_backs_off_for_retry_after_across_hours(em, tmp_path, bundle_dir):
    em.mode, em.retry_after = "429", "2"
    source = cached(em, tmp_path)
    with pytest.raises(FetchError, match="HTTP 429"):
        source.at("FR", PAST)
    with pytest.raises(FetchError, match="back-off"):
        source.at("FR", PAST - timedelta(days=3))  # another key: the source as a whole waits
    assert em.count() == 1
    em.mode = "ok"
    time.sleep(2.1)  # Retry-After has passed: the failure and the back-off have both expired
    assert source.at("FR", PAST).intensity_g_per_kwh.central == 50.0
    assert em.count() == 2


def test_corrupted_cache_rebuilt_with_warning(em, tmp_path, bundle_dir, caplog):
    folder = tmp_path / "cache" / "intensity"
    folder.mkdir(parents=True)
    (folder / "cache.db").write_bytes(b"this is not an sqlite database" * 100)
    with caplog.at_level(logging.WARNING, logger="carbon.intensity.cache"):
        value = cached(em, tmp_path).at("FR", PAST)
    assert value.intensity_g_per_kwh.central == 50.0
    assert any(p.name.startswith("intensity.corrupt-") for p in (tmp_path / "cache").iterdir())
    assert [r.name for r in caplog.records] == ["carbon.intensity.cache"]
    assert "rebuilt" in caplog.records[0].getMessage()


def test_a_bug_inside_a_cache_operation_is_not_taken_for_corruption(tmp_path):
    """A TypeError (or ImportError) is a bug: it propagates, and the user's cache stays where it is."""
    cache = IntensityCache(tmp_path)
    cache.store_failure("k", "HTTP 503", 60)

    def buggy(_cache):
        raise TypeError("unsupported operand")

    with pytest.raises(TypeError, match="unsupported operand"):
        cache._call(buggy)
    assert [p.name for p in tmp_path.iterdir()] == ["intensity"]  # not moved aside
    assert isinstance(cache.read("k"), FetchError)


def test_an_entry_of_another_layout_is_dropped_and_logged(tmp_path, caplog):
    cache = IntensityCache(tmp_path)
    cache._call(lambda c: c.set("old", ("v", "FR", 0.0)))  # an older version's shorter tuple
    with caplog.at_level(logging.WARNING, logger="carbon.intensity.cache"):
        assert cache.read("old") is None
    assert "dropped unreadable intensity cache entry old" in caplog.text
    assert cache._call(lambda c: c.get("old")) is None


def test_series_reads_cached_hours_and_fetches_the_rest_once(em, tmp_path, bundle_dir):
    source = cached(em, tmp_path)
    day = PAST.replace(hour=0)
    values = source.series("FR", day, day + timedelta(hours=6))
    assert [v.intensity_g_per_kwh.central for v in values] == [40.0, 41.0, 42.0, 43.0, 44.0, 45.0]
    assert (
        source.series("FR", day + timedelta(hours=2), day + timedelta(hours=4))[0].intensity_g_per_kwh.central == 42.0
    )
    assert em.count() == 1


def test_info_and_clear(em, tmp_path, bundle_dir):
    source = cached(em, tmp_path)
    source.at("FR", PAST)
    info = source.cache.info()
    assert info["entries"] == 14 and info["directory"].endswith("intensity")
    assert source.cache.clear() == info["entries"]
    assert source.cache.info()["entries"] == 0


def test_one_back_off_rule_for_single_hours_and_series(tmp_path):
    """Retry-After is obeyed as sent, 0 included; only a 429 without it waits DEFAULT_BACKOFF_S."""
    from carbon.intensity.cache import DEFAULT_BACKOFF_S
    from carbon.intensity.http import RateLimited

    cache = IntensityCache(tmp_path)
    assert cache.back_off("em", RateLimited("HTTP 429", "u", 0.0)) == 0.0
    cache.check_backoff("em")  # nothing to wait for
    assert cache.back_off("em", RateLimited("HTTP 429", "u", None)) == DEFAULT_BACKOFF_S
    with pytest.raises(FetchError, match="back-off"):
        cache.check_backoff("em")
