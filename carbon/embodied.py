"""Embodied (manufacturing) emissions of the hardware a piece of work used, amortised over its lifetime.

Always reported apart from the operational CO2e (energy x PUE x intensity), never added to it:

    embodied_co2e_kg = platform_embodied_kg x (duration_h / lifetime_h) x (instance_vcpus / platform_vcpus)

Cloud Carbon Footprint's method: the host server's manufacturing emissions (its "platform"
coefficient, Teads method), spread evenly over its expected lifetime (CCF: 35040 h, 4 years), of
which the instance holds its share of the host's vCPUs. The coefficients are per cloud instance
type (the bundled `embodied` table, from CCF's ccf-coefficients); the range spans CCF's published
figures for the type. The lifetime is an assumption: stated in every result and overridable
(`lifetime_years`, setting `embodied_lifetime_years`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbon.errors import UserInputError
from carbon.model import Bounds, Hardware, Source

HOURS_PER_YEAR = 8760.0


class NoEmbodiedFigure(UserInputError):
    """The hardware has no published embodied coefficient (figures exist per cloud instance type)."""


@dataclass(frozen=True)
class EmbodiedRow:
    provider: str
    instance_type: str
    instance_vcpus: float
    platform_vcpus: float
    platform_embodied_kg: Bounds


@dataclass(frozen=True)
class Embodied:
    co2e_kg: Bounds
    row: EmbodiedRow
    duration_h: float
    lifetime_h: float
    lifetime_origin: str  # "CCF default" or where the override came from
    sources: tuple[Source, ...]

    @property
    def share(self) -> float:
        return self.row.instance_vcpus / self.row.platform_vcpus

    def to_dict(self) -> dict[str, Any]:
        """The keys added to an estimate's JSON: the figure and its range at the top level, the
        arithmetic's inputs under `embodied`."""
        return {
            "embodied_co2e_kg": self.co2e_kg.central,
            "embodied_co2e_kg_low": self.co2e_kg.low,
            "embodied_co2e_kg_high": self.co2e_kg.high,
            "embodied": {
                "method": "platform_embodied_kg x duration_h / lifetime_h x instance_vcpus / platform_vcpus",
                "provider": self.row.provider,
                "instance_type": self.row.instance_type,
                "platform_embodied_kg": self.row.platform_embodied_kg.central,
                "platform_embodied_kg_low": self.row.platform_embodied_kg.low,
                "platform_embodied_kg_high": self.row.platform_embodied_kg.high,
                "instance_vcpus": self.row.instance_vcpus,
                "platform_vcpus": self.row.platform_vcpus,
                "duration_h": self.duration_h,
                "lifetime_h": self.lifetime_h,
                "lifetime_years": self.lifetime_h / HOURS_PER_YEAR,
                "lifetime_origin": self.lifetime_origin,
                "sources": [source.to_dict() for source in self.sources],
            },
        }


def amortised(platform_kg: Any, duration_h: Any, lifetime_h: float, share: Any) -> Any:
    """The one formula: the host's embodied kg, times the fraction of its lifetime used, times the
    share of the host held. Numbers or numpy arrays (the batch engine prices a column at once)."""
    return platform_kg * (duration_h / lifetime_h) * share


def amortised_kg(platform_kg: Bounds, duration_h: float, lifetime_h: float, share: float) -> Bounds:
    """`amortised` on each end of the host's range."""
    return Bounds(*(amortised(value, duration_h, lifetime_h, share) for value in platform_kg.as_tuple()))


def default_lifetime_h() -> float:
    from carbon.bundle import table

    for row in table("constants"):
        if row["name"] == "server_lifespan_h":
            return float(row["value"])
    raise LookupError("the bundled constants table has no server_lifespan_h")


def lookup(provider: str | None, instance_type: str | None) -> EmbodiedRow:
    if not provider or not instance_type:
        raise NoEmbodiedFigure(
            "embodied emissions need a cloud instance type (coefficients are published per instance type); "
            "give --instance-type with a provider region"
        )
    from carbon.bundle import rows_for

    wanted = instance_type.lower()
    for row in rows_for("embodied", provider):
        if row["instance_type"].lower() == wanted:
            return EmbodiedRow(
                provider,
                row["instance_type"],
                float(row["instance_vcpus"]),
                float(row["platform_vcpus"]),
                Bounds(
                    float(row["platform_embodied_kg"]),
                    float(row["platform_embodied_kg_low"]),
                    float(row["platform_embodied_kg_high"]),
                ),
            )
    raise NoEmbodiedFigure(
        f"no embodied coefficient for {provider} instance type {instance_type!r} in the bundled table"
    )


def embodied_for(hardware: Hardware | None, duration_s: float, lifetime_years: float | None = None) -> Embodied:
    """Embodied emissions of `hardware` (a cloud instance type) used for `duration_s`."""
    from carbon.provenance import describe

    if lifetime_years is not None and not lifetime_years > 0:
        raise UserInputError(f"the hardware lifetime must be a positive number of years, got {lifetime_years:g}")
    row = lookup(hardware.provider if hardware else None, hardware.instance_type if hardware else None)
    if lifetime_years is None:
        lifetime_h, origin = default_lifetime_h(), "CCF SERVER_EXPECTED_LIFESPAN"
    else:
        lifetime_h, origin = lifetime_years * HOURS_PER_YEAR, f"user: {lifetime_years:g} years"
    duration_h = duration_s / 3600.0
    co2e = amortised_kg(row.platform_embodied_kg, duration_h, lifetime_h, row.instance_vcpus / row.platform_vcpus)
    dataset, year, licence = describe("ccf-coefficients")
    lifetime_dataset, lifetime_year, lifetime_licence = describe("ccf-app")
    sources = (
        Source(
            "embodied",
            dataset,
            year,
            licence,
            "dataset",
            f"{row.provider} {row.instance_type}: host {row.platform_embodied_kg.central:g} kg CO2e "
            f"(range {row.platform_embodied_kg.low:g}-{row.platform_embodied_kg.high:g}), "
            f"{row.instance_vcpus:g} of {row.platform_vcpus:g} vCPUs",
        ),
        Source(
            "lifetime",
            lifetime_dataset if lifetime_years is None else "user",
            lifetime_year if lifetime_years is None else None,
            lifetime_licence if lifetime_years is None else None,
            "default" if lifetime_years is None else "user",
            f"{lifetime_h:g} h ({lifetime_h / HOURS_PER_YEAR:g} years) of service assumed",
        ),
    )
    return Embodied(co2e, row, duration_h, lifetime_h, origin, sources)


def with_embodied(estimate: Any, lifetime_years: float | None = None) -> Any:
    """The estimate with its hardware's embodied emissions added apart (extra keys `embodied_co2e_kg`,
    `_low`, `_high` and `embodied`); its operational `co2e_kg` is unchanged."""
    duration_s = estimate.usage.duration_s if estimate.usage is not None else None
    if duration_s is None:
        raise UserInputError("embodied emissions need the duration the hardware was used (--duration)")
    from dataclasses import replace

    embodied = embodied_for(estimate.hardware, duration_s, lifetime_years)
    return replace(estimate, sources=(*estimate.sources, *embodied.sources)).with_extra(**embodied.to_dict())


def embodied_lines(payload: dict[str, Any]) -> list[str]:
    """The text report's lines for an estimate's embodied keys (none when absent)."""
    if "embodied_co2e_kg" not in payload:
        return []
    detail = payload["embodied"]
    low, high = payload["embodied_co2e_kg_low"] * 1000, payload["embodied_co2e_kg_high"] * 1000
    return [
        f"Embodied:   {payload['embodied_co2e_kg'] * 1000:.3g} g CO2e (range {low:.3g} - {high:.3g} g), "
        "manufacturing, reported apart from the operational CO2e above",
        f"            = {detail['platform_embodied_kg']:g} kg (host) x {detail['duration_h']:.4g} h / "
        f"{detail['lifetime_h']:g} h lifetime ({detail['lifetime_years']:.3g} years, {detail['lifetime_origin']}) "
        f"x {detail['instance_vcpus']:g}/{detail['platform_vcpus']:g} vCPUs",
    ]
