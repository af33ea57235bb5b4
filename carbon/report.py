"""Human-facing views of an Estimate: a summary, everyday equivalents, a comparison across
regions and a LaTeX snippet for a paper. Pure functions of the estimate and the bundled factors.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon.bundle import derived, table
from carbon.model import Estimate

KM_PER_MILE = 1.609344


@dataclass(frozen=True)
class Equivalent:
    label: str
    value: float
    unit: str
    source: str


@derived
def _factors() -> dict[str, tuple[float, str, str]]:
    return {row["name"]: (float(row["value"]), row["unit"], row["source"]) for row in table("equivalents")}


def equivalents(estimate: Estimate) -> list[Equivalent]:
    """Car distance from the CO2e; TV hours, household days and phone charges from the energy."""
    return equivalents_of(estimate.co2e_kg.central, estimate.energy_kwh.central)


def equivalents_of(co2e_kg: float, energy_kwh: float) -> list[Equivalent]:
    """The everyday equivalents of a CO2e and a facility energy (one estimate's, or a total's)."""
    factors = _factors()
    co2e_g = co2e_kg * 1000.0
    car_g_per_km, _, car_source = factors["car_g_co2e_per_km"]
    km = co2e_g / car_g_per_km
    result = [
        Equivalent("driven by an average passenger car", km, "km", car_source),
        Equivalent("driven by an average passenger car", km / KM_PER_MILE, "miles", car_source),
    ]
    for name, label, unit in (
        ("tv_kwh_per_hour", "of television", "hours"),
        ("us_household_kwh_per_day", "of an average US household's electricity", "days"),
        ("smartphone_charge_kwh", "full smartphone charges", ""),
    ):
        per_unit, _, source = factors[name]
        result.append(Equivalent(label, energy_kwh / per_unit, unit, source))
    return result


@dataclass(frozen=True)
class Comparison:
    provider: str
    lowest_region: str
    lowest_co2e_kg: float
    lowest_basis: str
    highest_region: str
    highest_co2e_kg: float
    highest_basis: str


@derived
def _region_factors(provider: str) -> tuple[tuple[float, float, str, str], ...]:
    """(PUE, latest intensity, region, basis) of every region of `provider` the bundle can price.
    Derived once per bundle: the comparison then costs one multiplication per region."""
    from carbon.pricing import intensity_for, pue_for
    from carbon.regions import cloud_regions

    rows = []
    for location in cloud_regions(provider):
        try:
            intensity = intensity_for(location)
            pue = pue_for(location)[0].central
        except LookupError:
            continue
        rows.append((pue, intensity.intensity_g_per_kwh.central, location.region, intensity.basis))
    return tuple(rows)


def compare_regions(estimate: Estimate) -> Comparison | None:
    """The same IT energy in the provider's lowest- and highest-intensity regions (each with its own PUE
    and latest intensity). None off the cloud."""
    provider = estimate.location.provider
    if provider is None:
        return None
    return compare_regions_for(provider, estimate.energy.it_kwh.central)


def compare_regions_for(provider: str, it_kwh: float) -> Comparison | None:
    """`it_kwh` of IT energy (before PUE) priced in each of `provider`'s regions; None when none is priced
    (the dashboard prices a total's IT energy this way)."""
    priced = [
        (it_kwh * pue * intensity / 1000.0, region, basis)
        for pue, intensity, region, basis in _region_factors(provider)
    ]
    if not priced:
        return None
    low, high = min(priced), max(priced)
    return Comparison(provider, low[1], low[0], low[2], high[1], high[0], high[2])


def to_json(estimate: Estimate) -> dict:
    """The JSON of `carbon estimate --format json` (and of the service's POST /v1/estimate):
    `Estimate.to_dict()` plus the everyday equivalents and the comparison across the provider's regions."""
    payload = estimate.to_dict()
    payload["equivalents"] = [{"label": e.label, "value": e.value, "unit": e.unit} for e in equivalents(estimate)]
    comparison = compare_regions(estimate)
    if comparison is not None:
        payload["comparison"] = comparison.__dict__
    return payload


def format_count(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def format_scaled(value: float, small: str, unit: str, large: str) -> str:
    """Three significant figures in the unit that keeps the number between 1 and 1000."""
    if value >= 1000:
        return f"{value / 1000:.3g} {large}"
    if value >= 1:
        return f"{value:.3g} {unit}"
    return f"{value * 1000:.3g} {small}"


def format_mass(kg: float) -> str:
    return format_scaled(kg, "g", "kg", "t")


def format_energy(kwh: float) -> str:
    return format_scaled(kwh, "Wh", "kWh", "MWh")


def summary(estimate: Estimate, with_comparison: bool = True) -> str:
    energy, co2e, intensity = estimate.energy_kwh, estimate.co2e_kg, estimate.intensity_g_per_kwh
    where = estimate.location
    lines = [
        f"CO2e:       {format_mass(co2e.central)}  (range {format_mass(co2e.low)} - {format_mass(co2e.high)})",
        f"Energy:     {format_energy(energy.central)}  (range {format_energy(energy.low)} - {format_energy(energy.high)}, PUE included)",
        f"Region:     {where.region}" + (f" ({where.name})" if where.name else "") + f", grid zone {where.zone}",
        f"Intensity:  {intensity.central:.4g} gCO2e/kWh ({estimate.intensity_basis or 'basis unknown'}"
        + (f", range {intensity.low:.4g}-{intensity.high:.4g}" if intensity.low != intensity.high else "")
        + ")",
        f"PUE:        {estimate.pue.central:.3g}"
        + (f" (range {estimate.pue.low:.3g}-{estimate.pue.high:.3g})" if estimate.pue.low != estimate.pue.high else ""),
    ]
    parts = [(name, getattr(estimate.energy, f"{name}_kwh").central) for name in ("cpu", "gpu", "ram", "other")]
    shown = [f"{name} {format_energy(value)}" for name, value in parts if value > 0]
    if shown:
        lines.append("IT energy:  " + ", ".join(shown))
    lines.append("Sources:")
    for source in estimate.sources:
        year = f" {source.year}" if source.year else ""
        lines.append(
            f"  {source.factor:<13} {source.dataset}{year} [{source.method}]"
            + (f" - {source.detail}" if source.detail else "")
        )
    lines.append("Equivalent to:")
    for item in equivalents(estimate):
        lines.append("  " + " ".join(part for part in (format_count(item.value), item.unit, item.label) if part))
    if with_comparison:
        comparison = compare_regions(estimate)
        if comparison:
            bases = ""
            if comparison.lowest_basis != comparison.highest_basis:
                bases = f" [bases differ: {comparison.lowest_basis} vs {comparison.highest_basis}]"
            lines.append(
                f"Same work on {comparison.provider}: {format_mass(comparison.lowest_co2e_kg)} in {comparison.lowest_region} "
                f"(lowest) to {format_mass(comparison.highest_co2e_kg)} in {comparison.highest_region} (highest){bases}"
            )
    for warning in estimate.warnings:
        lines.append(f"Warning: {warning}")
    return "\n".join(lines)


def latex_escape(text: str) -> str:
    replacements = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(replacements.get(ch, ch) for ch in text)


def _hardware_text(estimate: Estimate) -> str:
    hardware = estimate.hardware
    if hardware is None:
        return "energy given directly"
    parts = []
    if hardware.instance_type:
        parts.append(f"{hardware.provider or ''} {hardware.instance_type}".strip())
    if hardware.vcpus:
        parts.append(f"{hardware.vcpus:g} vCPUs")
    if hardware.cpu_model:
        parts.append(hardware.cpu_model)
    if hardware.memory_gb:
        parts.append(f"{hardware.memory_gb:g} GB memory")
    if hardware.gpu_count:
        parts.append(f"{hardware.gpu_count} x {hardware.gpu_model or 'GPU'}")
    return ", ".join(parts)


def latex(estimate: Estimate) -> str:
    """A paragraph for a paper's acknowledgements or appendix, plus a BibTeX entry for the tool."""
    from carbon import __version__

    intensity_source = next((s for s in estimate.sources if s.factor == "intensity"), None)
    co2e, energy = estimate.co2e_kg, estimate.energy_kwh
    duration = ""
    if estimate.usage is not None and estimate.usage.duration_s:
        duration = f" over {estimate.usage.duration_h:.3g}~h"
    source_text = ""
    if intensity_source is not None:
        year = f", {intensity_source.year}" if intensity_source.year else ""
        source_text = (
            f" ({latex_escape(intensity_source.dataset)}{year}, {estimate.intensity_basis or 'unknown'} basis)"
        )
    paragraph = (
        "% Generated by carbon " + __version__ + "\n"
        f"The computations{duration} used {latex_escape(_hardware_text(estimate))} in "
        f"{latex_escape(estimate.location.region)}"
        + (f" ({latex_escape(estimate.location.name)})" if estimate.location.name else "")
        + f", drawing an estimated {energy.central:.3g}~kWh of electricity "
        f"(range {energy.low:.3g}--{energy.high:.3g}~kWh, data-centre PUE {estimate.pue.central:.3g} included). "
        f"At a grid carbon intensity of {estimate.intensity_g_per_kwh.central:.4g}~gCO$_2$e/kWh{source_text}, "
        f"this corresponds to {co2e.central:.3g}~kgCO$_2$e (range {co2e.low:.3g}--{co2e.high:.3g}~kgCO$_2$e), "
        f"estimated with carbon~{__version__}~\\cite{{carbon_tool}}.\n"
    )
    return paragraph + "\n" + bibtex()


def bibtex() -> str:
    """The BibTeX entry `carbon_tool` that every generated paragraph cites."""
    from carbon import __version__

    return (
        "@software{carbon_tool,\n"
        "  title   = {carbon: measure and estimate the CO2e of computing},\n"
        "  author  = {{carbon contributors}},\n"
        f"  version = {{{__version__}}},\n"
        "  year    = {2026},\n"
        "  note    = {Open-source tool; factors and sources listed in its data manifest}\n"
        "}\n"
    )
