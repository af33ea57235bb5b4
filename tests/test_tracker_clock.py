"""The sampler's clock: whole microseconds since the epoch, the same moments as the datetimes the
records are written with, and the same interval ends as datetime arithmetic gives."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from carbon.tracker import from_us, interval_end, interval_end_us, now_us, seconds_us, to_us


def test_now_us_reads_the_clock_datetime_now_reads():
    before = datetime.now(timezone.utc)
    moment = now_us()
    after = datetime.now(timezone.utc)
    assert to_us(before) <= moment <= to_us(after)


def test_microseconds_round_trip_exactly():
    # 2026-11-29T04:00:00.000012Z: 1_795_924_800 s after the epoch (20_786 days of 86_400 s, 4 h) and 12 us
    moment = datetime(2026, 11, 29, 4, 0, 0, 12, tzinfo=timezone.utc)
    assert to_us(moment) == (20_786 * 86_400 + 4 * 3600) * 1_000_000 + 12
    paris = datetime(2026, 11, 29, 5, 0, 0, 12, tzinfo=timezone(timedelta(hours=1)))
    assert to_us(paris) == to_us(moment) and from_us(to_us(paris)) == moment
    assert from_us(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc)
    assert seconds_us(1.0) == 1_000_000 and seconds_us(0.25) == 250_000 and seconds_us(2.5e-6) == 2  # half to even


def test_interval_ends_at_the_next_hour_or_the_interval_whichever_is_sooner():
    hour_us = 3_600_000_000
    start = 500_000 * hour_us + 3_595_000_000  # 5 s before an hour boundary
    assert interval_end_us(start, 10_000_000) == 500_001 * hour_us
    assert interval_end_us(start, 1_000_000) == start + 1_000_000
    assert interval_end_us(500_001 * hour_us, 1_000_000) == 500_001 * hour_us + 1_000_000  # on the boundary: a full one
    rng = random.Random(16)
    for _ in range(2000):  # as datetime arithmetic has it: min(start + interval, floor(start to the hour) + 1 h)
        moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=rng.randrange(10**13))
        seconds = rng.choice([0.5, 1.0, 10.0, 60.0, 3600.0, 7200.0, rng.uniform(0.001, 5000.0)])
        next_hour = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        assert interval_end(moment, seconds) == min(moment + timedelta(seconds=seconds), next_hour)
