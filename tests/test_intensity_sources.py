"""Each live source against a loopback double of its API: paths, auth, units, hours, failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fixtures.electricitymaps_api import ElectricityMapsApi
from fixtures.energinet_api import EnerginetApi
from fixtures.intensity_bundle import clear_caches, make_bundle
from fixtures.ukgrid_api import UkGridApi
from fixtures.watttime_api import WattTimeApi

from carbon.intensity.electricitymaps import ElectricityMapsSource
from carbon.intensity.energinet import EnerginetSource
from carbon.intensity.http import (
    AuthFailed,
    FetchError,
    NotConfigured,
    RateLimited,
    parse_retry_after,
)
from carbon.intensity.ukgrid import UkGridSource
from carbon.intensity.watttime import WattTimeSource

PAST = datetime(2024, 3, 5, 10, tzinfo=timezone.utc)  # a past hour, well outside "latest"


@pytest.fixture(autouse=True)
def bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_DATA_DIR", str(make_bundle(tmp_path / "bundle")))
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def em():
    server = ElectricityMapsApi().start()
    yield server
    server.stop()


def now_hour() -> datetime:
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


# --- Electricity Maps ----------------------------------------------------------------------------


def test_electricitymaps_past_hour_uses_past_range_with_auth_token(em):
    em.set_hour("FR", PAST, 47.0)
    em.set_hour("FR", PAST + timedelta(hours=1), 51.0)
    source = ElectricityMapsSource("em-test-token", base_url=em.base)
    value = source.at("FR", PAST + timedelta(minutes=20))
    assert value.intensity_g_per_kwh.as_tuple() == (47.0, 47.0, 47.0)
    assert (value.start, value.granularity, value.basis) == (PAST, "hour", "lifecycle")
    assert "electricitymaps zone FR" in value.source.detail
    assert em.count("/past-range") == 1


def test_electricitymaps_maps_cloud_region_to_its_zone(em):
    # aws:eu-west-2 -> GB (CCF's table); the double only knows "GB", so the right name must be asked.
    em.set_hour("GB", PAST, 180.0)
    value = ElectricityMapsSource("em-test-token", base_url=em.base).at("aws:eu-west-2", PAST)
    assert value.intensity_g_per_kwh.central == 180.0
    assert value.zone == "aws:eu-west-2"


def test_electricitymaps_latest_and_recent_history(em):
    current = now_hour()
    for back, value in ((0, 60.0), (1, 70.0), (2, 80.0)):
        em.set_hour("FR", current - timedelta(hours=back), value)
    source = ElectricityMapsSource("em-test-token", base_url=em.base)
    assert source.at("FR", datetime.now(timezone.utc)).intensity_g_per_kwh.central == 60.0
    assert em.count("/latest") == 1
    assert source.at("FR", current - timedelta(hours=2)).intensity_g_per_kwh.central == 80.0
    assert em.count("/history") == 1


def test_electricitymaps_long_series_split_into_ten_day_requests(em):
    start = PAST.replace(hour=0)
    for h in range(24 * 25):
        em.set_hour("FR", start + timedelta(hours=h), float(h % 24))
    values = ElectricityMapsSource("em-test-token", base_url=em.base).series("FR", start, start + timedelta(days=25))
    assert len(values) == 24 * 25 and values[-1].intensity_g_per_kwh.central == 23.0
    assert em.count("/past-range") == 3  # 10 + 10 + 5 days; the double refuses more than 10 days


def test_electricitymaps_wrong_key_is_auth_failure(em):
    em.set_hour("FR", PAST, 47.0)
    with pytest.raises(AuthFailed, match="401"):
        ElectricityMapsSource("wrong", base_url=em.base).at("FR", PAST)


def test_electricitymaps_without_key_makes_no_request(em):
    with pytest.raises(NotConfigured, match="no key"):
        ElectricityMapsSource(None, base_url=em.base).at("FR", PAST)
    assert em.count() == 0


def test_unmapped_zone_is_not_configured(em):
    with pytest.raises(NotConfigured, match="no electricitymaps zone"):
        ElectricityMapsSource("em-test-token", base_url=em.base).at("XX-NOWHERE", PAST)
    assert em.count() == 0


@pytest.mark.parametrize(
    "mode, error, phrase",
    [
        ("429", RateLimited, "HTTP 429"),
        ("500", FetchError, "HTTP 503"),
        ("malformed", FetchError, "bad body"),
    ],
)
def test_electricitymaps_failures_are_typed(em, mode, error, phrase):
    em.mode = mode
    with pytest.raises(error) as raised:
        ElectricityMapsSource("em-test-token", base_url=em.base).at("FR", PAST)
    assert phrase in raised.value.reason
    if mode == "429":
        assert raised.value.retry_after_s == 120.0


def test_slow_answer_times_out(em):
    em.set_hour("FR", PAST, 47.0)
    em.mode, em.delay_s = "slow", 1.0
    with pytest.raises(FetchError, match="timeout after 0.2 s"):
        ElectricityMapsSource("em-test-token", base_url=em.base, timeout_s=0.2).at("FR", PAST)


def test_base_url_from_environment(em, monkeypatch):
    em.set_hour("FR", PAST, 47.0)
    monkeypatch.setenv("CARBON_ELECTRICITYMAPS_URL", em.base)
    assert ElectricityMapsSource("em-test-token").at("FR", PAST).intensity_g_per_kwh.central == 47.0


def test_retry_after_http_date():
    # RFC 9110: an HTTP-date 90 s after "now".
    assert parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now=1445412480.0) == 90.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


# --- WattTime ------------------------------------------------------------------------------------


@pytest.fixture
def wt():
    server = WattTimeApi().start()
    yield server
    server.stop()


def test_watttime_marginal_converted_from_lbs_per_mwh(wt):
    for minute, lbs in ((0, 800.0), (5, 1000.0), (55, 900.0)):
        wt.set_point("CAISO_NORTH", PAST + timedelta(minutes=minute), lbs)
    value = WattTimeSource("wt-user", "wt-pass", base_url=wt.url).at("US-CA", PAST)
    # Hand calculation: mean 900 lbs/MWh x 0.45359237 = 408.233133 g/kWh; range 362.873896..453.59237.
    assert value.intensity_g_per_kwh.central == pytest.approx(408.233133)
    assert value.intensity_g_per_kwh.low == pytest.approx(362.873896)
    assert value.intensity_g_per_kwh.high == pytest.approx(453.59237)
    assert value.basis == "marginal"
    assert wt.count("/login") == 1 and wt.count("/v3/historical") == 1


def test_watttime_token_reused_then_renewed_after_401(wt):
    wt.set_point("CAISO_NORTH", PAST, 1000.0)
    source = WattTimeSource("wt-user", "wt-pass", base_url=wt.url)
    source.at("CAISO_NORTH", PAST)
    source.at("CAISO_NORTH", PAST)
    assert wt.count("/login") == 1
    wt.issued += 1  # the server revokes the token it gave
    source.at("CAISO_NORTH", PAST)
    assert wt.count("/login") == 2


def test_watttime_wrong_password(wt):
    with pytest.raises(AuthFailed, match="403"):
        WattTimeSource("wt-user", "nope", base_url=wt.url).at("CAISO_NORTH", PAST)


def test_watttime_latest_notes_signal_index(wt):
    current = now_hour()
    wt.set_point("CAISO_NORTH", current, 1000.0)
    value = WattTimeSource("wt-user", "wt-pass", base_url=wt.url).at("CAISO_NORTH", datetime.now(timezone.utc))
    assert value.intensity_g_per_kwh.central == pytest.approx(453.59237)
    assert "signal index 42 (percentile)" in value.source.detail
    assert wt.count("/v3/signal-index") == 1


# --- NESO (UK) -----------------------------------------------------------------------------------


@pytest.fixture
def uk():
    server = UkGridApi().start()
    yield server
    server.stop()


def test_ukgrid_national_half_hours_averaged_actual_preferred(uk):
    uk.national[PAST - timedelta(minutes=30)] = (500.0, 500.0)  # the half hour before: must be ignored
    uk.national[PAST] = (210.0, 200.0)
    uk.national[PAST + timedelta(minutes=30)] = (230.0, None)  # no actual yet: forecast used
    value = UkGridSource(base_url=uk.url).at("GB", PAST)
    assert value.intensity_g_per_kwh.as_tuple() == (215.0, 200.0, 230.0)  # mean of 200 and 230
    assert value.basis == "direct"


def test_ukgrid_regional_for_london_cloud_region(uk):
    uk.regional[13] = {PAST: 150.0, PAST + timedelta(minutes=30): 170.0}
    value = UkGridSource(base_url=uk.url).at("aws:eu-west-2", PAST)
    assert value.intensity_g_per_kwh.as_tuple() == (160.0, 150.0, 170.0)
    assert "ukgrid zone 13" in value.source.detail
    assert uk.count("/regionid/13") == 1


def test_ukgrid_latest_national(uk):
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    start = start.replace(minute=0 if start.minute < 30 else 30)
    uk.national[start] = (190.0, None)
    value = UkGridSource(base_url=uk.url).at("GB", datetime.now(timezone.utc))
    assert value.intensity_g_per_kwh.central == 190.0
    assert uk.count("/intensity") == 1


# --- Energinet -----------------------------------------------------------------------------------


@pytest.fixture
def dk():
    server = EnerginetApi().start()
    yield server
    server.stop()


def test_energinet_five_minute_records_to_hour(dk):
    for i in range(12):
        dk.set_record("DK2", PAST + timedelta(minutes=5 * i), 100.0 + 2 * i)  # 100..122
        dk.set_record("DK1", PAST + timedelta(minutes=5 * i), 999.0)  # other price area: not asked
    dk.set_record("DK2", PAST + timedelta(hours=1), 500.0)  # next hour: not part of this one
    value = EnerginetSource(base_url=dk.url).at("DK-84", PAST)
    assert value.intensity_g_per_kwh.as_tuple() == (111.0, 100.0, 122.0)  # mean of 100, 102, ..., 122
    assert value.basis == "direct"
    assert "energinet zone DK2" in value.source.detail


def test_energinet_series_spans_hours(dk):
    for i in range(36):
        dk.set_record("DK1", PAST + timedelta(minutes=5 * i), 50.0 if i < 12 else 70.0)
    values = EnerginetSource(base_url=dk.url).series("DK-81", PAST, PAST + timedelta(hours=3))
    assert [v.intensity_g_per_kwh.central for v in values] == [50.0, 70.0, 70.0]
    assert [v.start for v in values] == [PAST + timedelta(hours=h) for h in range(3)]
