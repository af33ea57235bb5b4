"""Modelled energy for components no counter covers: machine utilisation times the power model.

The CPU model is linear in utilisation, so the mean utilisation over an interval (from the
kernel's cumulative CPU times, read once per interval, no subprocess) gives exactly the mean
power; nothing is lost by not sampling in between. Memory draws a constant per GB. A GPU with
no NVML is modelled at unknown utilisation, so its range spans idle to TDP.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from carbon.meters.base import Measurement
from carbon.model import Bounds

METHOD = "modelled"


def busy_and_total_s(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds from psutil.cpu_times(); guest time is already inside user/nice on Linux."""
    return _busy_and_total_s(times._asdict())


def _busy_and_total_s(fields: dict[str, float]) -> tuple[float, float]:
    total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def utilisation(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return None
    return min(1.0, max(0.0, busy / total))


_PROC_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")


def _psutil_cpu_times() -> Any:
    """Machine CPU times: the first line of /proc/stat on Linux (no psutil import on the start-up
    path), psutil elsewhere."""
    try:
        with open("/proc/stat", "rb") as handle:
            line = handle.readline()
    except OSError:
        line = b""
    if not line.split()[1:]:
        import psutil

        return psutil.cpu_times()
    return _times_of_line(line)


def _seconds_of_line(line: bytes) -> dict[str, float]:
    """The CPU times of /proc/stat's "cpu" line, in seconds, named as psutil names them (the fields
    this kernel prints, in order)."""
    values = line.split()[1:]
    return dict(zip(_PROC_STAT_FIELDS, [int(v) / _TICKS_PER_S for v in values[: len(_PROC_STAT_FIELDS)]]))


def _times_of_line(line: bytes) -> Any:
    """_seconds_of_line as psutil's named tuple."""
    seconds = _seconds_of_line(line)
    return _cpu_times_type(tuple(seconds))(**seconds)


def proc_stat_busy_and_total_s(head: bytes) -> tuple[float, float]:
    """`busy_and_total_s(_psutil_cpu_times())` from the start of /proc/stat as read (its "cpu" line
    whole): what the tracker keeps at each interval's end is the raw bytes, parsed when written,
    into a dict rather than the named tuple (the tracker parses one per interval)."""
    return _busy_and_total_s(_seconds_of_line(head[: head.index(b"\n")]))


_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@functools.lru_cache(maxsize=4)
def _cpu_times_type(names: tuple[str, ...]) -> Any:
    from collections import namedtuple

    return namedtuple("cputimes", names)


class ModelledMeter:
    """Power model x measured utilisation, for the components given (e.g. ("cpu", "ram") without RAPL).

    `read` is the cheap part (the clock and the raw CPU counters: the tracker calls it as each
    interval ends) and `measurements` the rest (parsing, utilisation, the model), which the tracker
    may do later, several intervals at once, in the order read; `take` is both.
    """

    name = "modelled"
    poll_s = float("inf")

    def __init__(
        self,
        model: Any | None,
        components: Sequence[str],
        cpu_times: Callable[[], Any] = _psutil_cpu_times,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model  # carbon.power.PowerModel; may be set after the baseline is taken
        self.components = tuple(components)
        self.cpu_times = cpu_times
        self.clock = clock
        # On Linux /proc/stat stays open and each read is one pread: half the cost of an open, a
        # read and a close, and the tracker reads it every interval.
        self._fd: int | None = None
        if cpu_times is _psutil_cpu_times:
            try:
                self._fd = os.open("/proc/stat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                self._fd = None  # not Linux: psutil, through cpu_times
        self._last_time = clock()
        self._last_cpu = self._busy_and_total_s(self._cpu_now())
        self.last_cpu_util: float | None = None

    def _cpu_now(self) -> bytes | tuple[float, float]:
        """The machine's CPU counters now: /proc/stat's first bytes as read (parsed later), else
        busy and total seconds through `cpu_times`."""
        if self._fd is not None:
            try:
                head = os.pread(self._fd, 512, 0)
            except OSError:
                head = b""
            if head.startswith(b"cpu ") and b"\n" in head:
                return head
        return busy_and_total_s(self.cpu_times())

    @staticmethod
    def _busy_and_total_s(cpu: bytes | tuple[float, float]) -> tuple[float, float]:
        return proc_stat_busy_and_total_s(cpu) if isinstance(cpu, bytes) else cpu

    def available(self) -> bool:
        return bool(self.components)

    def poll(self) -> None:
        return None  # linear model: the interval's mean utilisation is all it needs

    def read(self, until: float | None = None) -> tuple[float, bytes | tuple[float, float]]:
        """The seconds since the last read, up to now or to `until` (a moment on `clock`, e.g. when
        the run stopped, so that time spent afterwards waiting for the setup is not counted), and
        the CPU counters now, for `measurements`."""
        now, cpu = self.clock(), self._cpu_now()
        if until is not None:
            now = min(now, max(until, self._last_time))
        duration_s = max(0.0, now - self._last_time)
        self._last_time = now
        return duration_s, cpu

    def measurements(self, reading: tuple[float, bytes | tuple[float, float]]) -> list[Measurement]:
        """The energy of one `read` (each read passed here once, in order): the model's power at the
        mean CPU utilisation since the previous read, times its seconds."""
        duration_s, raw = reading
        cpu = self._busy_and_total_s(raw)
        self.last_cpu_util = util = utilisation(self._last_cpu, cpu)
        self._last_cpu = cpu
        if self.model is None or not self.components:
            return []
        power = self.model.power_w(util, None)
        detail = {
            "cpu": f"CPU utilisation {util:.1%}" if util is not None else None,
            "gpu": "no GPU counter: utilisation unknown, idle..TDP",
        }
        return [Measurement(c, power[c].scale(duration_s), METHOD, detail.get(c)) for c in self.components]

    def take(self, until: float | None = None) -> list[Measurement]:
        """Energy since the last take (see `read`)."""
        return self.measurements(self.read(until))

    def notes(self) -> list[str]:
        return []

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def gpu_model_per_device(model: Any) -> Callable[[float | None], Bounds]:
    """One GPU's modelled power at a utilisation, for the NVML meter's degraded GPUs."""
    count = max(1, model.gpu_count)
    return lambda util: model.gpu_power_w(util).scale(1.0 / count)
