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
    fields = times._asdict()
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
            values = handle.readline().split()[1:]
    except OSError:
        values = []
    if not values:
        import psutil

        return psutil.cpu_times()
    names = _PROC_STAT_FIELDS[: len(values)]
    return _cpu_times_type(names)(*(int(v) / _TICKS_PER_S for v in values[: len(names)]))


_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@functools.lru_cache(maxsize=4)
def _cpu_times_type(names: tuple[str, ...]) -> Any:
    from collections import namedtuple

    return namedtuple("cputimes", names)


class ModelledMeter:
    """Power model x measured utilisation, for the components given (e.g. ("cpu", "ram") without RAPL)."""

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
        self._last_time = clock()
        self._last_cpu = busy_and_total_s(cpu_times())
        self.last_cpu_util: float | None = None

    def available(self) -> bool:
        return bool(self.components)

    def poll(self) -> None:
        return None  # linear model: the interval's mean utilisation is all it needs

    def take(self, until: float | None = None) -> list[Measurement]:
        """Energy since the last take, up to now or to `until` (a moment on `clock`, e.g. when the run
        stopped, so that time spent afterwards waiting for the setup is not counted)."""
        now, cpu = self.clock(), busy_and_total_s(self.cpu_times())
        if until is not None:
            now = min(now, max(until, self._last_time))
        duration_s = max(0.0, now - self._last_time)
        self.last_cpu_util = utilisation(self._last_cpu, cpu)
        self._last_time, self._last_cpu = now, cpu
        if self.model is None or not self.components:
            return []
        power = self.model.power_w(self.last_cpu_util, None)
        detail = {
            "cpu": f"CPU utilisation {self.last_cpu_util:.1%}" if self.last_cpu_util is not None else None,
            "gpu": "no GPU counter: utilisation unknown, idle..TDP",
        }
        return [Measurement(c, power[c].scale(duration_s), METHOD, detail.get(c)) for c in self.components]

    def notes(self) -> list[str]:
        return []

    def close(self) -> None:
        return None


def gpu_model_per_device(model: Any) -> Callable[[float | None], Bounds]:
    """One GPU's modelled power at a utilisation, for the NVML meter's degraded GPUs."""
    count = max(1, model.gpu_count)
    return lambda util: model.gpu_power_w(util).scale(1.0 / count)
