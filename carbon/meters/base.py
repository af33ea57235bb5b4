"""What every meter shares: energy per component since the last reading, and the method behind it.

A meter is polled often (`poll`, cheap: reads counters and accumulates) and drained once per
tracker interval (`take`). Polling faster than the interval is how counters that wrap are kept
exact: a RAPL package counter wraps after about 262 kJ, minutes at full load on a big socket.
Hardware that is absent gives a null meter, never an exception in the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from carbon.errors import HardwareError
from carbon.model import Bounds

COMPONENTS = ("cpu", "ram", "gpu")


class MeterError(HardwareError):
    """A meter cannot read its hardware; the message says why and, where there is one, the fix."""


@dataclass(frozen=True)
class Measurement:
    """Energy one meter saw for one component over one interval."""

    component: str  # "cpu", "ram" or "gpu"
    energy_j: Bounds
    method: str  # "measured:rapl", "measured:nvml", "modelled", "modelled:gpu-error", ...
    detail: str | None = None

    def __add__(self, other: Measurement) -> Measurement:
        if other.component != self.component:
            raise ValueError(f"cannot add {other.component} energy to {self.component} energy")
        # Two methods in one interval (a GPU degraded to the model mid-run) are both named.
        method = "+".join(sorted(set(self.method.split("+")) | set(other.method.split("+"))))
        return Measurement(self.component, self.energy_j + other.energy_j, method, self.detail or other.detail)


class Meter(Protocol):
    """Where energy comes from. `components` are those it covers; `poll_s` the longest safe gap between polls."""

    name: str
    components: tuple[str, ...]
    poll_s: float

    def available(self) -> bool:
        """True when the hardware is there and readable (a null meter says False)."""
        ...

    def poll(self) -> None:
        """Read the counters now and accumulate; called at least every `poll_s` seconds."""
        ...

    def take(self) -> list[Measurement]:
        """Poll, then return the energy accumulated since the previous take and reset it."""
        ...

    def notes(self) -> list[str]:
        """Warnings the user should see once (unreadable counters and their fix, degraded GPUs)."""
        ...

    def close(self) -> None: ...


class NullMeter:
    """A meter for hardware that is not there: available() is False and it measures nothing."""

    poll_s = float("inf")

    def __init__(self, name: str, reason: str, notes: list[str] | tuple[str, ...] = ()) -> None:
        self.name = name
        self.components: tuple[str, ...] = ()
        self.reason = reason
        self._notes = list(notes)  # shown once, e.g. the fix for unreadable counters

    def available(self) -> bool:
        return False

    def poll(self) -> None:
        return None

    def take(self) -> list[Measurement]:
        return []

    def notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    def close(self) -> None:
        return None
