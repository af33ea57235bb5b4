"""Process mode: the share of the machine's energy attributed to one process tree.

This is attribution, not measurement: counters see the whole package or GPU, and the tree is
given the part that matches its use of the machine in the interval:
- CPU: the tree's CPU seconds over the machine's busy CPU seconds (so idle power, which no one
  uses, is shared among the work that kept the machine on).
- memory: the tree's resident memory over the machine's total memory.
- GPU: per GPU, the tree's share of SM utilisation samples (NVML), else of its compute processes;
  without NVML, the CPU share.
CPU seconds of a child that exited are kept when a tracked parent reaped it (they move into the
parent's children times, less what was already counted). `carbon run` roots the tree at itself,
so the command it starts and reaps is always inside. A descendant re-parented to init before it
exits loses its last interval's CPU time: the kernel hands its times to no one we see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carbon.meters.modelled import busy_and_total_s


@dataclass(frozen=True)
class Shares:
    cpu: float
    ram: float
    pids: frozenset[int]

    def to_dict(self) -> dict[str, float]:
        return {"cpu": round(self.cpu, 6), "ram": round(self.ram, 6)}


def _psutil() -> Any:
    import psutil

    return psutil


def _tree_cpu_s(process: Any) -> float:
    times = process.cpu_times()
    return times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)


class ProcessTree:
    """Tracks a root process and its descendants; `take()` gives the interval's shares."""

    def __init__(self, root_pid: int, cpu_times: Callable[[], Any] | None = None) -> None:
        psutil = _psutil()
        self.root_pid = root_pid
        self._cpu_times = cpu_times or psutil.cpu_times
        self._total_memory = psutil.virtual_memory().total
        self._seen: dict[tuple[int, float], float] = {}  # (pid, create_time) -> CPU seconds at last take
        self._machine = busy_and_total_s(self._cpu_times())
        self._seen = self._members()[0]  # baseline: CPU time spent before tracking began is not ours

    def _members(self) -> tuple[dict[tuple[int, float], float], int]:
        psutil = _psutil()
        found: dict[tuple[int, float], float] = {}
        rss = 0
        try:
            root = psutil.Process(self.root_pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            processes = []
        for process in processes:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    found[key] = _tree_cpu_s(process)
                    rss += process.memory_info().rss
            except psutil.Error:
                continue  # exited between listing and reading
        return found, rss

    def take(self) -> Shares:
        found, rss = self._members()
        delta = sum(max(0.0, cpu_s - self._seen.get(key, 0.0)) for key, cpu_s in found.items())
        for key, last_s in self._seen.items():
            if key not in found and key[0] != self.root_pid:
                # Reaped by a tracked parent: its whole CPU time reappears in the parent's children
                # times, of which the part already counted must not be counted again.
                delta -= last_s
        self._seen = found
        machine = busy_and_total_s(self._cpu_times())
        busy_s = machine[0] - self._machine[0]
        self._machine = machine
        delta = max(0.0, delta)
        cpu = min(1.0, delta / busy_s) if busy_s > 0 else 0.0
        ram = min(1.0, rss / self._total_memory) if self._total_memory else 0.0
        return Shares(cpu, ram, frozenset(pid for pid, _ in found))
