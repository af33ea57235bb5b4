"""Live intensity for the tracker without ever waiting on the network.

The tracker's sampling loop calls `get(zone, time)` and gets, at once, the best value there is:
the live (or cached) value for that hour when the background thread has it, else the bundled
value with the reason recorded ("live value pending", or the fetch's failure). A background
daemon thread does the fetching, one (zone, hour) at a time, through the same chain and shared
cache as every other lookup. `request()` asks for an hour ahead of need; `wait()` lets a run
that is ending give pending fetches a bounded moment, so short runs can still be priced live.

    chain = build_chain(config)
    with IntensityPrefetcher(chain) as prefetcher:
        prefetcher.request(zone, start)          # at run start
        value = prefetcher.get(zone, interval_start)   # every interval: never blocks
        prefetcher.wait(timeout_s=config.http_timeout_s)  # at run end, optional
"""

from __future__ import annotations

import logging
import queue
import threading
import time as _time
from datetime import datetime, timezone
from typing import Any

from carbon.errors import CarbonError
from carbon.intensity.base import IntensityValue
from carbon.intensity.chain import Chain
from carbon.intensity.live import annotate
from carbon.units import floor_hour

logger = logging.getLogger(__name__)
PENDING = "live value for this hour not fetched yet (prefetch pending)"
_STOP = object()


class IntensityPrefetcher:
    """Fetches (zone, hour) values on a background thread; `get` answers from what is ready."""

    def __init__(self, chain: Chain, refresh_s: float = 300.0) -> None:
        self.chain = chain
        self.refresh_s = refresh_s  # how old a current-hour (latest) value may get before a refetch
        self._queue: queue.Queue[Any] = queue.Queue()  # (zone, hour) keys, or _STOP
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        # (zone, hour) -> (value or None, reasons, monotonic time fetched); absent = never asked
        self._done: dict[tuple[str, datetime], tuple[IntensityValue | None, list[str], float]] = {}
        self._pending: set[tuple[str, datetime]] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> IntensityPrefetcher:
        if self._thread is None and self.chain.links:
            self._thread = threading.Thread(target=self._run, name="carbon-intensity-prefetch", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> IntensityPrefetcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def request(self, zone: str, time: datetime) -> None:
        """Ask for (zone, hour of `time`) in the background; a no-op if ready or already asked."""
        key = (zone, floor_hour(time))
        with self._lock:
            done = self._done.get(key)
            if key in self._pending or (done is not None and not self._stale(key, done[2])):
                return
            self._pending.add(key)
        self._queue.put(key)

    def get(self, zone: str, time: datetime) -> IntensityValue:
        """The best value available now; never waits on the network."""
        key = (zone, floor_hour(time))
        with self._lock:
            done = self._done.get(key)
        if done is None or self._stale(key, done[2]):
            self.request(zone, time)
        if done is not None and done[0] is not None:
            return done[0]
        reasons = done[1] if done is not None else [PENDING]
        return self.chain.fallback(zone, time, reasons if self.chain.links else [])

    def wait(self, timeout_s: float) -> bool:
        """Block up to `timeout_s` for pending fetches (e.g. at the end of a run); True if none left."""
        deadline = _time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - _time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._idle.wait(left)
        return True

    def _stale(self, key: tuple[str, datetime], fetched_at: float) -> bool:
        current = floor_hour(datetime.now(timezone.utc))
        return key[1] >= current and _time.monotonic() - fetched_at > self.refresh_s

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            zone, hour = item
            try:
                value, reasons = self.chain.live(zone, hour)
                if value is not None:
                    value = annotate(value, reasons)
            except CarbonError as error:
                value, reasons = None, [f"prefetch error {type(error).__name__}: {error}"]
            except Exception as error:  # a bug: logged with its traceback; the thread keeps serving
                logger.exception("intensity prefetch for %s at %s failed", zone, hour)
                value, reasons = None, [f"prefetch bug {type(error).__name__}: {error}"]
            with self._idle:
                self._done[item] = (value, reasons, _time.monotonic())
                self._pending.discard(item)
                self._idle.notify_all()
