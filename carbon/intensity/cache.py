"""One on-disk cache of live intensity values, shared by every process of a user.

Keys are source, zone and hour. A finished hour never changes, so it is kept for good; the
latest value is kept for a short TTL. A failure is kept too (briefly, or for the server's
Retry-After after an HTTP 429), so that a dead API costs one request per TTL, not one per lookup.
Concurrent processes asking for the same key take a diskcache `Lock` and re-read after getting
it: the first one fetches, the others find its answer, so N processes make ONE upstream request.
A cache file that SQLite cannot read is moved aside and rebuilt with a logged warning, never a
crash; any other exception is a bug and propagates (it must not cost the user's cache).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import shutil
import sqlite3
import time as _time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from carbon.errors import DataError
from carbon.intensity.base import IntensityValue, implausible
from carbon.intensity.http import FetchError, RateLimited
from carbon.intensity.live import HOUR, ApiSource, annotate
from carbon.model import Bounds, Source
from carbon.units import floor_hour, utc

LATEST_TTL_S = 300.0
FAILURE_TTL_S = 60.0
DEFAULT_BACKOFF_S = 60.0  # an HTTP 429 without Retry-After
SUBFOLDER = "intensity"
# What a damaged cache raises: SQLite's errors (a file that is not a database, a malformed page),
# pickle's for a truncated or garbled value (diskcache pickles values), and file-system errors.
_CORRUPT = (sqlite3.DatabaseError, pickle.UnpicklingError, EOFError, OSError)
ENTRY_FIELDS = 13  # ("v", zone, start, granularity, central, low, high, basis, dataset, year, licence, method, detail)

logger = logging.getLogger(__name__)


class CacheEntryError(DataError):
    """A cache entry is not laid out as this version writes them (an older or newer carbon wrote it)."""


def key_for(source: str, zone: str, hour: datetime) -> str:
    return f"{source}|{zone.upper()}|{hour:%Y-%m-%dT%H}"


def _encode(value: IntensityValue) -> tuple[Any, ...]:
    s = value.source
    b = value.intensity_g_per_kwh
    return (
        "v",
        value.zone,
        value.start.timestamp(),
        value.granularity,
        b.central,
        b.low,
        b.high,
        value.basis,
        s.dataset,
        s.year,
        s.licence,
        s.method,
        s.detail,
    )


def _decode(raw: Any) -> IntensityValue | FetchError:
    if isinstance(raw, tuple) and len(raw) == 2 and raw[0] == "fail":
        return FetchError(raw[1])
    if not (isinstance(raw, tuple) and len(raw) == ENTRY_FIELDS and raw[0] == "v"):
        raise CacheEntryError(
            f"unknown entry layout {type(raw).__name__} of {len(raw) if isinstance(raw, tuple) else '?'}"
        )
    _, zone, start, granularity, central, low, high, basis, dataset, year, licence, method, detail = raw
    reason = implausible((central, low, high))
    if reason:  # stored by a version that did not check: as unusable as a corrupt entry
        raise CacheEntryError(reason)
    return IntensityValue(
        zone,
        datetime.fromtimestamp(start, timezone.utc),
        granularity,
        Bounds(central, low, high),
        basis,
        Source("intensity", dataset, year, licence, method, detail),
    )


def _is_permanent(hour: datetime, now: datetime) -> bool:
    return hour + HOUR <= floor_hour(now)


class IntensityCache:
    """diskcache.Cache under `<cache_dir>/intensity`, opened on first use."""

    def __init__(
        self,
        directory: Path,
        latest_ttl_s: float = LATEST_TTL_S,
        failure_ttl_s: float = FAILURE_TTL_S,
        lock_timeout_s: float = 30.0,
    ) -> None:
        self.directory = Path(directory) / SUBFOLDER
        self.latest_ttl_s = latest_ttl_s
        self.failure_ttl_s = failure_ttl_s
        self.lock_timeout_s = lock_timeout_s
        self._cache: Any = None
        self._bypassed = False

    # --- storage, with corruption handling ------------------------------------------------------

    def _open(self) -> Any:
        if self._cache is None and not self._bypassed:
            import diskcache

            try:
                self._cache = diskcache.Cache(str(self.directory), timeout=self.lock_timeout_s)
            except _CORRUPT as error:
                self._rebuild(error)
        return self._cache

    def _rebuild(self, error: BaseException) -> None:
        import diskcache

        if self._cache is not None:
            with contextlib.suppress(Exception):  # closing a broken cache may fail in any way; we discard it
                self._cache.close()
            self._cache = None
        aside = self.directory.with_name(f"{self.directory.name}.corrupt-{int(_time.time())}")
        logger.warning(
            "intensity cache %s unreadable (%s: %s); moved to %s and rebuilt",
            self.directory,
            type(error).__name__,
            error,
            aside.name,
        )
        try:
            if self.directory.exists():
                shutil.move(str(self.directory), str(aside))
            self._cache = diskcache.Cache(str(self.directory), timeout=self.lock_timeout_s)
        except (OSError, sqlite3.DatabaseError) as second:
            logger.warning("intensity cache disabled for this process: %s", second)
            self._cache, self._bypassed = None, True

    def _call(self, operation: Callable[[Any], Any], default: Any = None) -> Any:
        cache = self._open()
        if cache is None:
            return default
        try:
            return operation(cache)
        except _CORRUPT as error:
            self._rebuild(error)
            cache = self._cache
            return default if cache is None else operation(cache)

    def read(self, key: str) -> IntensityValue | FetchError | None:
        raw = self._call(lambda c: c.get(key))
        if raw is None:
            return None
        try:
            return _decode(raw)
        except CacheEntryError as error:  # written by an incompatible version: drop it, fetch again
            self._call(lambda c: c.delete(key))
            logger.warning("dropped unreadable intensity cache entry %s: %s", key, error)
            return None

    def store(self, key: str, value: IntensityValue, expire_s: float | None) -> None:
        self._call(lambda c: c.set(key, _encode(value), expire=expire_s))

    def store_hours(self, source: str, zone: str, values: Sequence[IntensityValue]) -> None:
        """Each value under its own hour: for good once the hour is over, else for the latest TTL."""
        now = datetime.now(timezone.utc)
        for value in values:
            expire_s = None if _is_permanent(value.start, now) else self.latest_ttl_s
            self.store(key_for(source, zone, value.start), value, expire_s)

    def store_failure(self, key: str, reason: str, expire_s: float) -> None:
        self._call(lambda c: c.set(key, ("fail", reason), expire=expire_s))

    def backoff_left_s(self, source: str) -> float:
        until = self._call(lambda c: c.get(f"backoff|{source}"))
        return max(0.0, until - _time.time()) if until else 0.0

    def set_backoff(self, source: str, seconds: float) -> None:
        self._call(lambda c: c.set(f"backoff|{source}", _time.time() + seconds, expire=seconds))

    def check_backoff(self, source: str) -> None:
        """Raise while `source` is backing off after an HTTP 429 (any key: the source as a whole waits)."""
        left = self.backoff_left_s(source)
        if left > 0:
            raise FetchError(f"HTTP 429 back-off, {left:.0f} s left (Retry-After)")

    def back_off(self, source: str, error: RateLimited) -> float:
        """The one back-off rule after an HTTP 429: the server's Retry-After when it sent one (even 0),
        else DEFAULT_BACKOFF_S. Returns the seconds the source now waits."""
        wait_s = error.retry_after_s if error.retry_after_s is not None else DEFAULT_BACKOFF_S
        self.set_backoff(source, wait_s)
        return wait_s

    def info(self) -> dict[str, Any]:
        entries = self._call(lambda c: len(c), 0)
        volume = self._call(lambda c: c.volume(), 0)
        return {"directory": str(self.directory), "entries": entries, "size_bytes": volume}

    def clear(self) -> int:
        return self._call(lambda c: c.clear(), 0)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # --- single-flight lookup -------------------------------------------------------------------

    def lookup(
        self, source: str, zone: str, hour: datetime, fetch: Callable[[], Sequence[IntensityValue]], *, latest: bool
    ) -> IntensityValue:
        """The cached value for (source, zone, hour), else ONE fetch among all processes.

        `fetch` may return many hours (a day of history in one request): all are stored.
        """
        key = key_for(source, zone, hour)
        found = self.read(key)
        if found is None:
            self.check_backoff(source)
            cache = self._open()
            if cache is None:
                found = self._fetch_and_store(key, source, zone, hour, fetch, latest)
            else:
                import diskcache

                with diskcache.Lock(cache, f"lock|{key}", expire=self.lock_timeout_s):
                    found = self.read(key)
                    if found is None:
                        found = self._fetch_and_store(key, source, zone, hour, fetch, latest)
        if isinstance(found, FetchError):
            raise FetchError(found.reason)
        return found

    def _fetch_and_store(
        self,
        key: str,
        source: str,
        zone: str,
        hour: datetime,
        fetch: Callable[[], Sequence[IntensityValue]],
        latest: bool,
    ) -> IntensityValue | FetchError:
        try:
            values = fetch()
        except RateLimited as error:
            wait_s = self.back_off(source, error)
            self.store_failure(key, error.reason, max(wait_s, 1.0))
            return FetchError(error.reason)
        except FetchError as error:
            self.store_failure(key, error.reason, self.failure_ttl_s)
            return FetchError(error.reason)
        if latest:
            value = values[0]
            self.store(key, value, self.latest_ttl_s)
            return value
        self.store_hours(source, zone, values)
        wanted = next((value for value in values if value.start == hour), None)
        if wanted is None:
            reason = f"no {source} value for {zone} at {hour:%Y-%m-%dT%H:00Z}"
            self.store_failure(key, reason, self.failure_ttl_s)
            return FetchError(reason)
        return wanted


class CachedSource:
    """A live source behind the shared cache; same interface as the source itself."""

    # A lookup of a past hour fetches this much history at once: one request for a day of hours.
    window = timedelta(hours=24)
    # When the latest lookup fails, a value cached within this many hours stands in for it.
    stale_hours = 3

    def __init__(self, live: ApiSource, cache: IntensityCache) -> None:
        self.live = live
        self.cache = cache
        self.name = live.name

    def _check(self, zone: str) -> None:
        """A missing key or zone mapping is answered before the cache: it is not a failure to remember."""
        self.live.check_configured()
        self.live.api_zone(zone)

    def at(self, zone: str, time: datetime) -> IntensityValue:
        self._check(zone)
        hour = floor_hour(time)
        current = floor_hour(datetime.now(timezone.utc))
        if hour >= current:
            try:
                return self.cache.lookup(self.name, zone, current, lambda: [self.live.fetch_latest(zone)], latest=True)
            except FetchError as error:
                stale = self._recent(zone, current)
                if stale is None:
                    raise
                return annotate(
                    stale,
                    [f"{self.name}: {error.reason}"],
                    f"last cached {self.name} value (hour {stale.start:%Y-%m-%dT%H:00Z}) used",
                )
        end = min(hour + self.window, current)
        return self.cache.lookup(self.name, zone, hour, lambda: self.live.fetch(zone, hour, end), latest=False)

    def _recent(self, zone: str, current: datetime) -> IntensityValue | None:
        """The newest cached value of the last few hours, when the latest lookup failed."""
        for back in range(self.stale_hours + 1):
            found = self.cache.read(key_for(self.name, zone, current - back * HOUR))
            if isinstance(found, IntensityValue):
                return found
        return None

    def series(self, zone: str, start: datetime, end: datetime) -> list[IntensityValue]:
        """Hours already cached are read; the missing span is fetched once and stored."""
        self._check(zone)
        start, end = floor_hour(start), utc(end)
        hours = []
        cursor = start
        while cursor < end:
            hours.append(cursor)
            cursor += HOUR
        found = {h: self.cache.read(key_for(self.name, zone, h)) for h in hours}
        missing = [h for h, v in found.items() if not isinstance(v, IntensityValue)]
        if missing:
            self.cache.check_backoff(self.name)
            try:
                fetched = self.live.fetch(zone, missing[0], missing[-1] + HOUR)
            except RateLimited as error:
                self.cache.back_off(self.name, error)
                raise
            self.cache.store_hours(self.name, zone, fetched)
            found.update((value.start, value) for value in fetched)
        return [v for h, v in sorted(found.items(), key=lambda item: item[0]) if isinstance(v, IntensityValue)]
