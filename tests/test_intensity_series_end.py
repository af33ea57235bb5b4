"""An offline series past the bundle's last period ends (it used to loop for ever, growing in memory)."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from carbon.intensity.static import BundledSource, _next_boundary

UTC = timezone.utc


class Hung(Exception):
    pass


@pytest.fixture(autouse=True)
def guard():
    """Fails a test still running after 30 s instead of hanging the suite (the bug looped for ever)."""

    def expire(signum, frame):
        raise Hung("series() did not end")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_series_past_the_last_bundled_year_is_one_value_per_calendar_period():
    # 2031 is past every bundled year: each day of it is priced with the latest year's value,
    # and a two-day window inside one calendar year is one period.
    values = BundledSource().series("FR", datetime(2031, 5, 1, tzinfo=UTC), datetime(2031, 5, 3, tzinfo=UTC))
    assert len(values) == 1
    assert values[0].granularity == "year" and values[0].start.year < 2031


def test_series_across_a_new_year_past_the_bundle_has_one_value_per_year():
    values = BundledSource().series("FR", datetime(2031, 12, 31, tzinfo=UTC), datetime(2032, 1, 2, tzinfo=UTC))
    assert len(values) == 2


def test_next_boundary_always_moves_forward():
    cursor = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert _next_boundary(cursor, "hour") == datetime(2026, 1, 1, tzinfo=UTC)
    assert _next_boundary(cursor, "month") == datetime(2026, 1, 1, tzinfo=UTC)
    assert _next_boundary(datetime(2025, 5, 17, tzinfo=UTC), "month") == datetime(2025, 6, 1, tzinfo=UTC)
    assert _next_boundary(datetime(2025, 5, 17, tzinfo=UTC), "year") == datetime(2026, 1, 1, tzinfo=UTC)


def test_carbon_intensity_series_past_the_bundle_ends():
    # The timeout is the guard: before the fix this command never returned.
    result = subprocess.run(
        [sys.executable, "-m", "carbon", "intensity", "FR", "--from", "2031-05-01", "--to", "2031-05-02"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("FR ") == 1
