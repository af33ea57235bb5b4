"""The data model every mode shares: tracking, offline estimates and batch all end in an Estimate.

Frozen dataclasses with the unit in every field name, so that a wrong unit reads wrong.
Ranges travel as `Bounds` (central, low, high) so that uncertainty is never dropped on the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from carbon.errors import UserInputError

# Methods a factor can have been obtained by; sources name one of these.
METHODS = ("measured", "modelled", "provider-published", "dataset", "default", "user")


@dataclass(frozen=True)
class Bounds:
    """A central value with the low and high ends of its plausible range (low <= central <= high)."""

    central: float
    low: float
    high: float

    def __post_init__(self) -> None:
        # One chained comparison on the hot path (the tracker builds many Bounds per interval);
        # it is False for NaN too, so only the failure path looks closer.
        if self.low <= self.central <= self.high:
            return
        for name in ("central", "low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise ValueError(f"Bounds.{name} must be a number, got {value!r}")
        # Allow float noise from arithmetic; anything larger is a modelling bug.
        tolerance = 1e-9 * max(1.0, abs(self.central))
        if not (self.low <= self.central + tolerance and self.central <= self.high + tolerance):
            raise ValueError(f"Bounds must satisfy low <= central <= high, got {self.low}, {self.central}, {self.high}")

    @classmethod
    def exact(cls, value: float) -> Bounds:
        return cls(value, value, value)

    def __add__(self, other: Bounds) -> Bounds:
        return _bounds(self.central + other.central, self.low + other.low, self.high + other.high)

    def scale(self, factor: float) -> Bounds:
        """Multiply by a non-negative exact factor (hours, a count, a unit conversion)."""
        if factor < 0:
            raise ValueError(f"cannot scale bounds by a negative factor {factor}")
        return _bounds(self.central * factor, self.low * factor, self.high * factor)

    def times(self, other: Bounds) -> Bounds:
        """Product of two non-negative uncertain quantities: ends multiply with ends."""
        return _bounds(self.central * other.central, self.low * other.low, self.high * other.high)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.central, self.low, self.high)


def _bounds(central: float, low: float, high: float) -> Bounds:
    """Bounds(central, low, high) for the arithmetic above, the tracker's hot path: when the ends are in
    order (the usual case) the checks have nothing to say and the frozen dataclass's three
    object.__setattr__ calls are skipped; otherwise the constructor checks (and raises) as ever."""
    if low <= central <= high:
        bounds = _new_object(Bounds)
        fields = bounds.__dict__
        fields["central"], fields["low"], fields["high"] = central, low, high
        return bounds
    return Bounds(central, low, high)


_new_object = object.__new__
ZERO = Bounds(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Source:
    """Where one factor of an estimate came from, so that every number can be traced."""

    factor: str  # "intensity", "pue", "cpu_power", "memory_power", "gpu_power", "energy", ...
    dataset: str  # e.g. "Ember yearly electricity data", "user", "carbon defaults"
    year: int | None = None
    licence: str | None = None
    method: str = "dataset"
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Field by field rather than asdict(), whose deep copy of plain values cost a third of an
        # estimate served over HTTP.
        return {
            "factor": self.factor,
            "dataset": self.dataset,
            "year": self.year,
            "licence": self.licence,
            "method": self.method,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Location:
    """Where the electricity came from: the grid zone decides the intensity."""

    region: str  # canonical code as the user can type it: "FR", "US-CA", "aws:us-east-1"
    zone: str  # grid zone the intensity is looked up for: ISO 3166-1 alpha-2 or ISO 3166-2
    country: str | None  # ISO 3166-1 alpha-2, None for the World pseudo-location
    provider: str | None = None  # "aws", "gcp", "azure" or None off the cloud
    name: str | None = None  # human-readable place name
    subdivision: str | None = None  # ISO 3166-2 when known
    latitude: float | None = None
    longitude: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "region": self.region, "zone": self.zone, "country": self.country}


@dataclass(frozen=True)
class Hardware:
    """What ran: a cloud instance type or a machine described by its parts."""

    vcpus: float | None = None
    cpu_model: str | None = None
    microarchitecture: str | None = None
    cpu_tdp_w: float | None = None
    cpu_cores: int | None = None
    threads_per_chip: float | None = None  # hardware threads of one chip, when the user knows better than the table
    memory_gb: float | None = None  # decimal GB (10**9 bytes); GiB sources convert on the way in
    gpu_model: str | None = None
    gpu_count: float = 0  # fractional for GPU partitions (e.g. 1/8 of an L4)
    instance_type: str | None = None
    provider: str | None = None
    burstable_baseline_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class Usage:
    """How long and how hard the hardware worked. Utilisations are fractions 0..1, None when unknown."""

    duration_s: float
    cpu_util: float | None = None
    gpu_util: float | None = None
    start: datetime | None = None

    def __post_init__(self) -> None:
        if not (self.duration_s >= 0) or math.isinf(self.duration_s):
            raise UserInputError(f"duration must be a finite non-negative number of seconds, got {self.duration_s}")
        for name in ("cpu_util", "gpu_util"):
            value = getattr(self, name)
            if value is not None and not (0.0 <= value <= 1.0):
                raise UserInputError(f"{name} must be a fraction between 0 and 1, got {value}")

    @property
    def duration_h(self) -> float:
        return self.duration_s / 3600.0


@dataclass(frozen=True)
class Energy:
    """IT energy by component (before PUE), each with the method that produced it."""

    cpu_kwh: Bounds = ZERO
    ram_kwh: Bounds = ZERO
    gpu_kwh: Bounds = ZERO
    # Energy given as a total (user-supplied, or measured at the wall) that has no component split.
    other_kwh: Bounds = ZERO
    # component -> "measured:rapl", "measured:nvml", "modelled", "user", ...
    methods: tuple[tuple[str, str], ...] = ()

    @property
    def it_kwh(self) -> Bounds:
        cpu, ram, gpu, other = self.cpu_kwh, self.ram_kwh, self.gpu_kwh, self.other_kwh
        return _bounds(
            cpu.central + ram.central + gpu.central + other.central,
            cpu.low + ram.low + gpu.low + other.low,
            cpu.high + ram.high + gpu.high + other.high,
        )

    def method(self, component: str) -> str | None:
        return dict(self.methods).get(component)

    def breakdown(self) -> dict[str, Any]:
        """Central kWh per component and each component's method, as records and summaries show them."""
        result: dict[str, Any] = {
            "cpu_kwh": self.cpu_kwh.central,
            "gpu_kwh": self.gpu_kwh.central,
            "ram_kwh": self.ram_kwh.central,
            "other_kwh": self.other_kwh.central,
        }
        for component, method in self.methods:
            result[f"{component}_method"] = method
        return result

    def __add__(self, other: Energy) -> Energy:
        methods = dict(self.methods)
        for component, method in other.methods:
            known = methods.get(component)
            methods[component] = method if known in (None, method) else "mixed"
        return Energy(
            self.cpu_kwh + other.cpu_kwh,
            self.ram_kwh + other.ram_kwh,
            self.gpu_kwh + other.gpu_kwh,
            self.other_kwh + other.other_kwh,
            tuple(sorted(methods.items())),
        )


def facility_energy_kwh(it_kwh: Any, pue: Any) -> Any:
    """IT energy times PUE; floats or numpy arrays, so the estimate and the batch engine share it."""
    return it_kwh * pue


def co2e_kg(energy_kwh: Any, intensity_g_per_kwh: Any) -> Any:
    """Facility energy times grid intensity, in kg; floats or numpy arrays."""
    return energy_kwh * intensity_g_per_kwh / 1000.0


@dataclass(frozen=True)
class Estimate:
    """The answer: facility energy (PUE included) times grid intensity, with ranges and sources."""

    energy: Energy  # IT energy by component, before PUE
    pue: Bounds
    intensity_g_per_kwh: Bounds
    location: Location
    sources: tuple[Source, ...]
    hardware: Hardware | None = None
    usage: Usage | None = None
    intensity_basis: str | None = None  # "lifecycle", "operational", "direct", "marginal"
    warnings: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def energy_kwh(self) -> Bounds:
        """Facility energy: IT energy times PUE, end by end."""
        it, pue = self.energy.it_kwh, self.pue
        return _bounds(
            facility_energy_kwh(it.central, pue.central),
            facility_energy_kwh(it.low, pue.low),
            facility_energy_kwh(it.high, pue.high),
        )

    @property
    def co2e_kg(self) -> Bounds:
        energy, intensity = self.energy_kwh, self.intensity_g_per_kwh
        return _bounds(
            co2e_kg(energy.central, intensity.central),
            co2e_kg(energy.low, intensity.low),
            co2e_kg(energy.high, intensity.high),
        )

    def with_extra(self, **values: Any) -> Estimate:
        merged = dict(self.extra)
        merged.update(values)
        return replace(self, extra=tuple(merged.items()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape shared by `carbon estimate --format json`, run summaries and batch output."""
        energy, co2e = self.energy_kwh, self.co2e_kg
        breakdown = self.energy.breakdown()
        result: dict[str, Any] = {
            "energy_kwh": energy.central,
            "energy_kwh_low": energy.low,
            "energy_kwh_high": energy.high,
            "co2e_kg": co2e.central,
            "co2e_kg_low": co2e.low,
            "co2e_kg_high": co2e.high,
            "intensity_g_per_kwh": self.intensity_g_per_kwh.central,
            "intensity_g_per_kwh_low": self.intensity_g_per_kwh.low,
            "intensity_g_per_kwh_high": self.intensity_g_per_kwh.high,
            "intensity_basis": self.intensity_basis,
            "pue": self.pue.central,
            "pue_low": self.pue.low,
            "pue_high": self.pue.high,
            "location": self.location.to_dict(),
            "breakdown": breakdown,
            "hardware": self.hardware.to_dict() if self.hardware else None,
            "duration_s": self.usage.duration_s if self.usage else None,
            "sources": {s.factor: s.to_dict() for s in self.sources},
            "warnings": list(self.warnings),
        }
        result.update(dict(self.extra))
        return result
