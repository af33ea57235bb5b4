"""Totals as the pages show them: one block per emission-factor basis (never one sum across
lifecycle, operational, direct and marginal figures), each with its range and everyday equivalents.

The formatting and the equivalents are carbon.report's, so a figure reads the same on the page, in
the CLI summary and in the LaTeX snippet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from carbon.model import Bounds
from carbon.report import Equivalent, equivalents_of, format_count, format_energy, format_mass

UNKNOWN_BASIS = "unknown"


@dataclass(frozen=True)
class BasisTotal:
    """What the runs and batch jobs priced on one basis add up to. `it_kwh` and `components_kwh` are
    IT energy before PUE (the region comparison re-prices it with each region's own PUE)."""

    basis: str
    runs: int
    jobs: int
    energy_kwh: Bounds
    co2e_kg: Bounds
    it_kwh: float = 0.0
    components_kwh: dict[str, float] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None

    @property
    def equivalents(self) -> list[Equivalent]:
        return equivalents_of(self.co2e_kg.central, self.energy_kwh.central)

    @property
    def intensity_g_per_kwh(self) -> float | None:
        """The energy-weighted mean intensity of these runs."""
        if self.energy_kwh.central <= 0:
            return None
        return self.co2e_kg.central * 1000.0 / self.energy_kwh.central


def basis_name(basis: str | None) -> str:
    return basis or UNKNOWN_BASIS


def ordered(totals: Iterable[BasisTotal]) -> list[BasisTotal]:
    """Largest CO2e first, so the main basis leads the page."""
    return sorted(totals, key=lambda total: (-total.co2e_kg.central, total.basis))


def mass(kg: float | None) -> str:
    return "–" if kg is None else format_mass(kg)


def energy(kwh: float | None) -> str:
    return "–" if kwh is None else format_energy(kwh)


def count(value: float | None) -> str:
    return "–" if value is None else format_count(value)


def duration(seconds: float | None) -> str:
    """ "0.512 s", "42 s", "3 min 20 s", "5 h 07 min": as long as the value needs, no longer."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours:,} h {minutes:02d} min"


def equivalent_text(item: Equivalent) -> str:
    """ "3.2 km driven by an average passenger car", as the CLI summary prints it."""
    return " ".join(part for part in (format_count(item.value), item.unit, item.label) if part)
