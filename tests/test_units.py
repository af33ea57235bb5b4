from datetime import datetime, timezone

import pytest

from carbon.units import parse_duration_s, parse_time


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("3h", 3 * 3600),
        ("90m", 90 * 60),
        ("1h30m", 3600 + 30 * 60),
        ("45", 45),
        ("45s", 45),
        ("2d", 2 * 86400),
        ("1.5h", 1.5 * 3600),
        ("01:02:03", 3600 + 2 * 60 + 3),
        ("250ms", 0.25),
    ],
)
def test_durations(text, seconds):
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text, message",
    [
        ("-3h", "must not be negative"),
        ("3 fortnights", "unknown duration unit 'fortnights'"),
        ("soon", "cannot read duration"),
        ("", "empty duration"),
    ],
)
def test_bad_durations(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration_s(text)


def test_times_default_to_utc():
    assert parse_time("2024-03-01T14:00") == datetime(2024, 3, 1, 14, tzinfo=timezone.utc)
    assert parse_time("2024-03-01T14:00Z") == datetime(2024, 3, 1, 14, tzinfo=timezone.utc)
    assert parse_time("2024-03-01T15:00+01:00") == datetime(2024, 3, 1, 14, tzinfo=timezone.utc)


def test_bad_time():
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("last tuesday")
