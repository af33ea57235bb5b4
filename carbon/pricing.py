"""Offline estimation: a region plus energy, or plus hardware and a duration, gives an Estimate.

`price` is the one place where energy becomes CO2e for one estimate; its arithmetic is
`facility_energy_kwh` and `co2e_kg` (floats or numpy arrays), which the batch engine calls on
whole columns, with the same `pue_for` and `intensity_for` factors.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from carbon import catalog
from carbon.bundle import derived, table
from carbon.errors import UserInputError
from carbon.intensity.base import IntensityValue
from carbon.intensity.static import BundledSource, provider_published
from carbon.model import (  # noqa: F401  (co2e_kg, facility_energy_kwh: the arithmetic, re-exported)
    Bounds,
    Energy,
    Estimate,
    Hardware,
    Location,
    Source,
    Usage,
    co2e_kg,
    facility_energy_kwh,
)
from carbon.power import power_model
from carbon.provenance import describe
from carbon.regions import resolve
from carbon.units import ENERGY_KWH, quantity


class EstimateError(UserInputError):
    """The inputs cannot give an estimate; the message says what to change."""


# --- PUE ------------------------------------------------------------------------------------------


@derived
def _pue_rows() -> dict[str, dict[int, tuple[float, str]]]:
    rows: dict[str, dict[int, tuple[float, str]]] = {}
    for row in table("pue"):
        year = int(row["year"]) if row["year"] else 0
        rows.setdefault(row["provider"], {})[year] = (float(row["pue"]), row["source"])
    return rows


def _pue_of(provider: str, year: int | None) -> tuple[float, int | None, str]:
    series = _pue_rows().get(provider)
    if not series:
        raise EstimateError(f"no PUE for {provider!r} in the bundled pue table")
    years = sorted(series)
    used = max((y for y in years if year is None or y <= year), default=years[0])
    value, source = series[used]
    return value, (used or None), source


@derived
def _cloud_pue() -> dict[str, tuple[float, str, str, str]]:
    return {
        f"{r['provider']}:{r['region']}": (float(r["pue"]), r["pue_scope"], r["pue_year"], r["pue_source"])
        for r in table("cloud_regions")
        if r["pue"]
    }


def pue_for(location: Location, year: int | None = None, override: float | None = None) -> tuple[Bounds, Source]:
    """Cloud: the region's published PUE (else the provider fleet's), ranged against the other;
    elsewhere: on-premises 1.0 up to the industry-survey average for an unknown data centre."""
    if override is not None:
        if not 1.0 <= override <= 3.0:
            raise EstimateError(f"PUE must be between 1.0 and 3.0, got {override:g}")
        return Bounds.exact(override), Source("pue", "user", None, None, "user", f"PUE {override:g} given")
    if location.provider:
        fleet, fleet_year, fleet_source = _pue_of(location.provider, year)
        regional = _cloud_pue().get(location.region)
        if regional and regional[1] == "region":
            value, _, pue_year, source_id = regional
            dataset, _, licence = describe(source_id)
            bounds = Bounds(value, min(value, fleet), max(value, fleet))
            detail = (
                f"{location.region} regional PUE {value:g}; range to the {location.provider} fleet figure {fleet:g}"
            )
            return bounds, Source(
                "pue", dataset, int(pue_year) if pue_year else None, licence, "provider-published", detail
            )
        dataset, _, licence = describe(fleet_source)
        published = [
            v[0] for k, v in _cloud_pue().items() if k.startswith(location.provider + ":") and v[1] == "region"
        ]
        bounds = Bounds(fleet, min([fleet, *published]), max([fleet, *published]))
        detail = f"{location.provider} fleet PUE {fleet:g} ({fleet_year}); no regional figure published" + (
            "; range over the provider's published regional figures" if published else ""
        )
        return bounds, Source("pue", dataset, fleet_year, licence, "provider-published", detail)
    onprem, onprem_year, onprem_source = _pue_of("onprem", year)
    unknown, unknown_year, unknown_source = _pue_of("unknown", year)
    dataset, _, licence = describe(unknown_source)
    detail = (
        f"not a cloud region: on-premises default {onprem:g}, up to {unknown:g} "
        f"(industry survey average, {unknown_year}) for an unknown data centre; set --pue to be exact"
    )
    return Bounds(onprem, min(onprem, unknown), max(onprem, unknown)), Source(
        "pue", dataset, unknown_year, licence, "default", detail
    )


# --- intensity ------------------------------------------------------------------------------------


def intensity_for(location: Location, *, year: int | None = None, start: datetime | None = None) -> IntensityValue:
    """Provider-published regional intensity where the provider publishes it, else the grid zone's."""
    when_year = start.year if start is not None else year
    if location.provider:
        region = location.region.split(":", 1)[1]
        published = provider_published(location.provider, region, when_year, location.zone)
        if published is not None:
            return published
    source = BundledSource()
    if start is not None:
        return source.at(location.zone, start)
    return source.year(location.zone, year)


# --- hardware -------------------------------------------------------------------------------------


def _guess_provider(instance_type: str) -> str | None:
    name = instance_type.lower()
    if name.startswith("standard_") or name.startswith("basic_"):
        return "azure"
    if "." in name:
        return "aws"
    if "-" in name:
        return "gcp"
    return None


def resolve_hardware(
    location: Location,
    *,
    instance_type: str | None = None,
    cpus: float | None = None,
    cpu_model: str | None = None,
    memory_gb: float | None = None,
    gpus: int = 0,
    gpu_model: str | None = None,
    threads_per_chip: float | None = None,
) -> tuple[Hardware, list[str]]:
    """An instance type from the catalog, with any parts the user named taking precedence."""
    warnings: list[str] = []
    hardware = Hardware()
    if instance_type:
        provider = location.provider or _guess_provider(instance_type)
        if provider is None:
            raise EstimateError(
                f"cannot tell the provider of instance type {instance_type!r}; use a provider region "
                "such as aws:us-east-1"
            )
        found = catalog.instance(provider, instance_type)
        if found is None:
            try:
                found, warning = catalog.estimate_instance_from_family(provider, instance_type)
            except LookupError as error:
                raise EstimateError(str(error)) from None
            warnings.append(warning)
        hardware = found
    changes: dict[str, Any] = {}
    if cpus is not None:
        if cpus <= 0:
            raise EstimateError(f"--cpus must be positive, got {cpus:g}")
        changes["vcpus"] = float(cpus)
    if cpu_model:
        changes["cpu_model"] = cpu_model
        if not instance_type:
            changes["microarchitecture"] = None
    if memory_gb is not None:
        if memory_gb < 0:
            raise EstimateError(f"--memory-gb must not be negative, got {memory_gb:g}")
        changes["memory_gb"] = float(memory_gb)
    if gpus:
        if gpus < 0:
            raise EstimateError(f"--gpus must not be negative, got {gpus}")
        changes["gpu_count"] = int(gpus)
    if gpu_model:
        changes["gpu_model"] = gpu_model
    if threads_per_chip is not None:
        if threads_per_chip <= 0:
            raise EstimateError(f"--threads-per-chip must be positive, got {threads_per_chip:g}")
        changes["threads_per_chip"] = float(threads_per_chip)
    if changes:
        from dataclasses import replace

        hardware = replace(hardware, **changes)
    if not (hardware.vcpus or hardware.cpu_model):
        raise EstimateError(
            "name the hardware: --instance-type, or --cpus and/or --cpu-model (with --memory-gb, --gpus)"
        )
    return hardware, warnings


# --- pricing --------------------------------------------------------------------------------------


def price(
    energy: Energy,
    location: Location,
    intensity: IntensityValue,
    pue: Bounds,
    sources: tuple[Source, ...] = (),
    hardware: Hardware | None = None,
    usage: Usage | None = None,
    warnings: tuple[str, ...] = (),
) -> Estimate:
    """The one place energy becomes CO2e: facility energy (IT × PUE) × intensity."""
    return Estimate(
        energy=energy,
        pue=pue,
        intensity_g_per_kwh=intensity.intensity_g_per_kwh,
        location=location,
        sources=(intensity.source, *sources),
        hardware=hardware,
        usage=usage,
        intensity_basis=intensity.basis,
        warnings=warnings,
    )


def estimate(
    region: str,
    *,
    energy_kwh: float | None = None,
    instance_type: str | None = None,
    cpus: float | None = None,
    cpu_model: str | None = None,
    memory_gb: float | None = None,
    gpus: int = 0,
    gpu_model: str | None = None,
    duration_s: float | None = None,
    cpu_util: float | None = None,
    gpu_util: float | None = None,
    year: int | None = None,
    start: datetime | None = None,
    pue: float | None = None,
    threads_per_chip: float | None = None,
) -> Estimate:
    """CO2e of work done in `region`, from its energy or from its hardware and duration. No network."""
    location = resolve(region)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    if year is not None and start is not None and start.year != year:
        raise EstimateError(f"--year {year} contradicts --start {start:%Y-%m-%d}; give one of them")
    when_year = start.year if start is not None else year
    pue_bounds, pue_source = pue_for(location, when_year, pue)
    intensity = intensity_for(location, year=year, start=start)
    warnings: list[str] = []
    sources: list[Source] = [pue_source]
    if energy_kwh is not None:
        if energy_kwh < 0:
            raise EstimateError(f"--energy-kwh must not be negative, got {energy_kwh:g}")
        if instance_type or cpus or cpu_model or gpus or gpu_model or memory_gb is not None or threads_per_chip:
            raise EstimateError("give either --energy-kwh or the hardware, not both")
        energy = Energy(other_kwh=Bounds.exact(energy_kwh), methods=(("other", "user"),))
        usage = Usage(duration_s=duration_s) if duration_s is not None else None
        sources.append(
            Source("energy", "user", None, None, "user", f"{quantity(energy_kwh, ENERGY_KWH)} IT energy given")
        )
        return price(energy, location, intensity, pue_bounds, tuple(sources), usage=usage, warnings=tuple(warnings))
    if duration_s is None:
        raise EstimateError("give --duration (e.g. 3h) with the hardware, or --energy-kwh")
    hardware, hardware_warnings = resolve_hardware(
        location,
        instance_type=instance_type,
        cpus=cpus,
        cpu_model=cpu_model,
        memory_gb=memory_gb,
        gpus=gpus,
        gpu_model=gpu_model,
        threads_per_chip=threads_per_chip,
    )
    warnings.extend(hardware_warnings)
    try:
        usage = Usage(duration_s=duration_s, cpu_util=cpu_util, gpu_util=gpu_util, start=start)
    except ValueError as error:
        raise EstimateError(str(error)) from None
    model = power_model(hardware)
    warnings.extend(model.warnings)
    sources.extend(model.sources)
    if cpu_util is None:
        warnings.append(
            f"CPU utilisation not given: unknown, central {model.default_cpu_util:.0%}, "
            "range idle to full load (--cpu-util narrows it)"
        )
    if hardware.gpu_count and gpu_util is None:
        warnings.append("GPU utilisation not given: range spans idle to TDP (--gpu-util narrows it)")
    return price(
        model.energy(usage),
        location,
        intensity,
        pue_bounds,
        tuple(sources),
        hardware=hardware,
        usage=usage,
        warnings=tuple(warnings),
    )
