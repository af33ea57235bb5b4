"""Every request has a total deadline, and live intensity outside 0-2,000 g/kWh is refused.

The trickling server is a real TCP peer on loopback that sends a well-formed HTTP answer one byte
at a time: a per-read socket timeout never fires on it, only a deadline on the whole request does.
The subprocess timeouts below are guards (a hang fails the test), not timing assertions.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest
from carbon.providers.base import Deadline
from carbon.providers.onprem import geoip_region
from fixtures.electricitymaps_api import ElectricityMapsApi

from carbon.intensity.http import FetchError, get_json
from carbon.intensity.live import hourly

BODY = json.dumps({"country_code": "FR", "carbonIntensity": 50}).encode()
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


class Trickle:
    """Accepts connections and sends ANSWER one byte every `gap_s`: over a minute for the whole answer,
    each byte well inside a 1 s read timeout."""

    def __init__(self, gap_s: float = 0.4) -> None:
        self.gap_s = gap_s
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.stopped = threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for index in range(len(ANSWER)):
                if self.stopped.wait(self.gap_s):
                    return
                try:
                    connection.sendall(ANSWER[index : index + 1])
                except OSError:
                    return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def trickle():
    server = Trickle()
    yield server
    server.close()


def _within(seconds: float, function, *args):
    """Run `function` in a thread; fail if it is still running after `seconds` (the guard)."""
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = function(*args)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{function.__name__} still waiting after {seconds} s"
    return outcome


def test_intensity_get_gives_up_on_a_trickling_server(trickle):
    outcome = _within(20, lambda: get_json(trickle.url + "/v3/x", timeout_s=1.0))
    assert isinstance(outcome.get("error"), FetchError)
    assert outcome["error"].reason == "timeout after 1 s"


def test_geoip_lookup_gives_up_on_a_trickling_server(trickle):
    outcome = _within(20, lambda: geoip_region(trickle.url + "/json/", Deadline.after(1.0)))
    region, note = outcome["value"]
    assert region is None and "MetadataTimeout" in note


def test_a_slow_but_complete_answer_inside_the_deadline_is_read_whole():
    server = Trickle(gap_s=0.0)
    try:
        assert get_json(server.url + "/x", timeout_s=5.0) == json.loads(BODY)
    finally:
        server.close()


def test_carbon_intensity_falls_back_when_the_api_trickles(trickle, tmp_path):
    (tmp_path / "carbon.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_")}
    env.update(
        CARBON_CONFIG=str(tmp_path / "carbon.toml"),
        CARBON_CACHE_DIR=str(tmp_path / "cache"),
        CARBON_INTENSITY_SOURCES="electricitymaps,bundled",
        CARBON_ELECTRICITYMAPS_TOKEN="t",
        CARBON_ELECTRICITYMAPS_URL=trickle.url + "/v3",
        CARBON_HTTP_TIMEOUT_S="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "carbon", "intensity", "FR", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,  # the guard: the trickle takes over a minute
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert trickle.connections >= 1
    assert "electricitymaps: timeout after 1 s" in result.stdout


@pytest.mark.parametrize("value", [-250.0, 1e9, 2000.5])
def test_implausible_live_values_are_refused_with_the_reason(value):
    hour = datetime(2025, 1, 1, 10, tzinfo=timezone.utc)
    with pytest.raises(FetchError, match="bad value: intensity .* outside the plausible 0-2000"):
        hourly([(hour, 50.0), (hour + timedelta(minutes=30), value)])


def test_nan_is_refused_and_the_plausible_ends_are_kept():
    hour = datetime(2025, 1, 1, 10, tzinfo=timezone.utc)
    with pytest.raises(FetchError, match="bad value"):
        hourly([(hour, float("nan"))])
    assert hourly([(hour, 0.0), (hour, 2000.0)])[hour][0].as_tuple() == (1000.0, 0.0, 2000.0)


@pytest.mark.parametrize("value", [-250.0, 1e9])
def test_carbon_intensity_falls_back_from_an_implausible_value_and_caches_nothing_of_it(tmp_path, value):
    from carbon.intensity.cache import IntensityCache, key_for

    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    api = ElectricityMapsApi().start()
    for h in range(-2, 2):
        api.set_hour("FR", hour + timedelta(hours=h), value)
    (tmp_path / "carbon.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_")}
    env.update(
        CARBON_CONFIG=str(tmp_path / "carbon.toml"),
        CARBON_CACHE_DIR=str(tmp_path / "cache"),
        CARBON_INTENSITY_SOURCES="electricitymaps,bundled",
        CARBON_ELECTRICITYMAPS_TOKEN="em-test-token",
        CARBON_ELECTRICITYMAPS_URL=api.base,
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "carbon", "intensity", "FR", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        api.stop()
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    row = answer[0] if isinstance(answer, list) else answer
    assert 0 < row["intensity_g_per_kwh"] < 2000 and "outside the plausible" in row["detail"]
    cache = IntensityCache(tmp_path / "cache")
    try:
        found = cache.read(key_for("electricitymaps", "FR", hour))
    finally:
        cache.close()
    assert found is None or not hasattr(found, "intensity_g_per_kwh")  # a failure note at most, no value


def test_a_live_sdk_lookup_has_a_total_deadline(trickle, tmp_path, monkeypatch):
    """The cloud SDKs' timeouts are per read; the lookup as a whole is cut at LIVE_DEADLINE_S. The
    'SDK' here reads the trickling server with a 1 s per-read timeout, as the SDKs do."""
    import urllib.request

    import carbon.providers.live as live
    from carbon.providers.live import LiveLookupUnavailable, cached

    monkeypatch.setattr(live, "LIVE_DEADLINE_S", 1.0)

    def fetch():
        with urllib.request.urlopen(trickle.url + "/instance-types", timeout=1.0) as answer:
            answer.read()
        return None

    outcome = _within(20, lambda: cached("aws", "ec2.describe_instance_types", "x9.huge", fetch, tmp_path))
    assert isinstance(outcome.get("error"), LiveLookupUnavailable)
    assert "no answer within 1 s" in str(outcome["error"])
