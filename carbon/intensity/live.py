"""What every live intensity API has in common: zone mapping, hours, latest vs historical, provenance.

A subclass knows one API's paths and JSON; this base turns its raw points into hourly
`IntensityValue`s. Sub-hourly points (half-hourly UK, 5-minute Danish and WattTime data) are
averaged to the hour, and the lowest and highest point of the hour become the range, because a
job that ran in part of the hour saw one of them, not the mean.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from carbon.intensity.base import IntensityValue, implausible
from carbon.intensity.http import FetchError
from carbon.model import Bounds, Source
from carbon.units import floor_hour, utc

HOUR = timedelta(hours=1)


def parse_time(text: str) -> datetime:
    """ISO 8601 as the APIs write it: '2024-01-01T00:00Z', '...00:00.000Z', '+00:00', or naive UTC."""
    if not isinstance(text, str):
        raise FetchError(f"bad body: time {text!r} is not a string")
    cleaned = text.strip().replace("Z", "+00:00")
    try:
        return utc(datetime.fromisoformat(cleaned))
    except ValueError:
        raise FetchError(f"bad body: time {text!r} is not ISO 8601") from None


def hourly(points: Iterable[tuple[datetime, float]]) -> dict[datetime, tuple[Bounds, int]]:
    """Hour -> (mean with min..max range, number of points), from (time, g/kWh) points.

    One implausible point (negative, above 2,000 g/kWh, NaN) spoils the whole answer: a server that
    sends it is broken, so the chain falls back (with this reason) and nothing of it is cached."""
    grouped: dict[datetime, list[float]] = {}
    for time, value in points:
        reason = implausible((value,))
        if reason:
            raise FetchError(f"bad value: {reason} at {utc(time):%Y-%m-%dT%H:%MZ}")
        grouped.setdefault(floor_hour(time), []).append(value)
    return {hour: (Bounds(sum(v) / len(v), min(v), max(v)), len(v)) for hour, v in sorted(grouped.items())}


def annotate(value: IntensityValue, reasons: Sequence[str], note: str = "") -> IntensityValue:
    """Append the fallback reasons to the value's provenance detail."""
    if not reasons and not note:
        return value
    parts = [value.source.detail] if value.source.detail else []
    if reasons:
        parts.append("fallback after " + "; ".join(reasons))
    if note:
        parts.append(note)
    return replace(value, source=replace(value.source, detail="; ".join(parts)))


class ApiSource:
    """Base of the live sources; subclasses fill the class attributes and the two `_points` methods."""

    name = ""
    basis = ""  # emission-factor basis of every value this API returns
    dataset = ""
    licence: str | None = None
    url_env = ""
    default_url = ""
    max_span = timedelta(days=7)  # longest range one request may ask for

    def __init__(self, base_url: str | None = None, timeout_s: float = 5.0) -> None:
        self.base_url = (base_url or os.environ.get(self.url_env) or self.default_url).rstrip("/")
        self.timeout_s = timeout_s

    # --- for subclasses -------------------------------------------------------------------------

    def check_configured(self) -> None:
        """Raise NotConfigured when a key is missing, before any request is made."""

    def api_zone(self, zone: str) -> str:
        from carbon.intensity.zones import api_zone

        return api_zone(self.name, zone)

    def _points(self, api_zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        raise NotImplementedError

    def _latest_points(self, api_zone: str) -> tuple[list[tuple[datetime, float]], str]:
        """The most recent points, and a note for the detail (e.g. a signal index)."""
        now = datetime.now(timezone.utc)
        return self._points(api_zone, floor_hour(now) - HOUR, now + HOUR), ""

    # --- the IntensitySource interface ----------------------------------------------------------

    def fetch(self, zone: str, start: datetime, end: datetime) -> list[IntensityValue]:
        """Hourly values for the hours overlapping [start, end), one request per `max_span`."""
        self.check_configured()
        target = self.api_zone(zone)
        cursor, end = floor_hour(start), utc(end)
        values: list[IntensityValue] = []
        while cursor < end:
            chunk_end = min(end, cursor + self.max_span)
            points = self._points(target, cursor, chunk_end)
            for hour, (bounds, count) in hourly(points).items():
                if cursor <= hour < chunk_end:
                    values.append(self._value(zone, target, hour, bounds, count, "historical"))
            cursor = floor_hour(chunk_end) if floor_hour(chunk_end) > cursor else cursor + HOUR
        return values

    def fetch_latest(self, zone: str) -> IntensityValue:
        self.check_configured()
        target = self.api_zone(zone)
        points, note = self._latest_points(target)
        hours = hourly(points)
        if not hours:
            raise FetchError("bad body: no data points in the latest answer")
        hour = max(hours)
        bounds, count = hours[hour]
        return self._value(zone, target, hour, bounds, count, "latest" + (f"; {note}" if note else ""))

    def at(self, zone: str, time: datetime) -> IntensityValue:
        hour = floor_hour(time)
        if hour >= floor_hour(datetime.now(timezone.utc)):
            return self.fetch_latest(zone)
        for value in self.fetch(zone, hour, hour + HOUR):
            if value.start == hour:
                return value
        raise FetchError(f"no {self.name} value for {zone} at {hour:%Y-%m-%dT%H:00Z}")

    def series(self, zone: str, start: datetime, end: datetime) -> Sequence[IntensityValue]:
        return self.fetch(zone, start, end)

    def _value(self, zone: str, target: str, hour: datetime, bounds: Bounds, count: int, kind: str) -> IntensityValue:
        spread = f", range over {count} sub-hourly points" if count > 1 else ""
        detail = f"{self.name} zone {target}, hour {hour:%Y-%m-%dT%H:00Z}, {kind}{spread}"
        return IntensityValue(
            zone,
            hour,
            "hour",
            bounds,
            self.basis,
            Source("intensity", self.dataset, hour.year, self.licence, "dataset", detail),
        )
