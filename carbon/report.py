"""Human-facing views of an Estimate: a summary, everyday equivalents, a comparison across
regions and a LaTeX snippet for a paper. Pure functions of the estimate and the bundled factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbon.bundle import derived, table
from carbon.model import Estimate
from carbon.units import ENERGY_KWH, LENGTH_KM, MASS_KG, figure, quantity

KM_PER_MILE = 1.609344


@dataclass(frozen=True)
class Equivalent:
    """An emission or energy figure put in everyday terms (car distance, TV hours), with the
    source of its factor."""

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
    """The same IT energy in the lowest- and highest-CO2e regions of the provider that publish
    intensity on the estimate's own emission-factor basis (`regions` of them)."""

    provider: str
    basis: str
    regions: int
    lowest_region: str
    lowest_co2e_kg: float
    highest_region: str
    highest_co2e_kg: float


def _region_factors(provider: str) -> tuple[tuple[float, float, str, str], ...]:
    """(PUE, latest intensity, region, basis) of every region of `provider` the bundle can price:
    the precomputed figures of `carbon.region_figures` (recomputed there when a table changed)."""
    from carbon.region_figures import figures

    return tuple((pue, intensity, region, basis) for region, basis, pue, intensity in figures(provider))


def compare_regions(estimate: Estimate) -> Comparison | None:
    """The same IT energy in the provider's lowest- and highest-CO2e regions on the estimate's basis
    (each with its own PUE and latest intensity); regions on another basis are left out, because a
    direct and a lifecycle kilogram do not compare. None off the cloud or with no other region."""
    provider = estimate.location.provider
    if provider is None or estimate.intensity_basis is None:
        return None
    return compare_regions_for(provider, estimate.energy.it_kwh.central, estimate.intensity_basis)


def region_bases(provider: str) -> list[str]:
    """The emission-factor bases on which `provider`'s regions are priced (a comparison is per basis)."""
    return sorted({basis for _, _, _, basis in _region_factors(provider)})


def compare_regions_for(provider: str, it_kwh: float, basis: str) -> Comparison | None:
    """`it_kwh` of IT energy (before PUE) priced in each of `provider`'s regions on `basis`; None when
    fewer than two are (the dashboard prices a total's IT energy this way, one basis at a time)."""
    from carbon.model import co2e_kg, facility_energy_kwh

    priced = [
        (co2e_kg(facility_energy_kwh(it_kwh, pue), intensity), region)
        for pue, intensity, region, region_basis in _region_factors(provider)
        if region_basis == basis
    ]
    if len(priced) < 2:
        return None
    low, high = min(priced), max(priced)
    return Comparison(provider, basis, len(priced), low[1], low[0], high[1], high[0])


def to_json(estimate: Estimate) -> dict[str, Any]:
    """The JSON of `carbon estimate --format json` (and of the service's POST /v1/estimate):
    `Estimate.to_dict()` plus the everyday equivalents and the comparison across the provider's regions."""
    payload = estimate.to_dict()
    payload["equivalents"] = [{"label": e.label, "value": e.value, "unit": e.unit} for e in equivalents(estimate)]
    comparison = compare_regions(estimate)
    if comparison is not None:
        payload["comparison"] = comparison.__dict__
    return payload


def format_count(value: float) -> str:
    """A count (whole: 1,234) or a dimensionless figure (3 significant figures), thousands grouped."""
    return f"{int(value):,}" if float(value).is_integer() else figure(value)


def format_mass(kg: float) -> str:
    return quantity(kg, MASS_KG)


def format_energy(kwh: float) -> str:
    return quantity(kwh, ENERGY_KWH)


def _fmt_equivalent(item: Equivalent) -> str:
    if item.unit == "km":
        return f"{quantity(item.value, LENGTH_KM)} {item.label}"
    return " ".join(part for part in (figure(item.value), item.unit, item.label) if part)


def summary(estimate: Estimate, with_comparison: bool = True) -> str:
    energy, co2e, intensity = estimate.energy_kwh, estimate.co2e_kg, estimate.intensity_g_per_kwh
    where = estimate.location
    by_basis = dict(estimate.extra).get("co2e_by_basis") or {}
    mixed = len(by_basis) > 1
    co2e_lines = [
        f"CO2e:       {format_mass(co2e.central)}  (range {format_mass(co2e.low)} - {format_mass(co2e.high)})",
    ]
    if mixed:  # never one figure across emission-factor bases
        co2e_lines = [
            f"CO2e {basis + ':':<12} {format_mass(part['co2e_kg'])}  (range {format_mass(part['co2e_kg_low'])} - "
            f"{format_mass(part['co2e_kg_high'])}, {part['intervals']} intervals; not summed across bases)"
            for basis, part in by_basis.items()
        ]
    lines = [
        *co2e_lines,
        f"Energy:     {format_energy(energy.central)}  (range {format_energy(energy.low)} - {format_energy(energy.high)}, PUE included)",
        f"Region:     {where.region}" + (f" ({where.name})" if where.name else "") + f", grid zone {where.zone}",
        f"Intensity:  {figure(intensity.central)} gCO2e/kWh ({estimate.intensity_basis or 'basis unknown'}"
        + (f", range {figure(intensity.low)}-{figure(intensity.high)}" if intensity.low != intensity.high else "")
        + ")"
        if not mixed
        else f"Intensity:  each interval on its own basis ({', '.join(by_basis)})",
        f"PUE:        {figure(estimate.pue.central)}"
        + (
            f" (range {figure(estimate.pue.low)}-{figure(estimate.pue.high)})"
            if estimate.pue.low != estimate.pue.high
            else ""
        ),
    ]
    extra = dict(estimate.extra)
    if "embodied_co2e_kg" in extra:
        from carbon.embodied import embodied_lines

        lines[len(co2e_lines) : len(co2e_lines)] = embodied_lines(extra)
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
        if mixed and item.unit in ("km", "miles"):  # from the CO2e, which has no one figure here
            continue
        lines.append("  " + _fmt_equivalent(item))
    if with_comparison and not mixed:
        comparison = compare_regions(estimate)
        if comparison:
            lines.append(
                f"Same work on {comparison.provider}: {format_mass(comparison.lowest_co2e_kg)} in {comparison.lowest_region} "
                f"(lowest) to {format_mass(comparison.highest_co2e_kg)} in {comparison.highest_region} (highest), "
                f"among its {comparison.regions} regions with {comparison.basis} figures"
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
        parts.append(f"{hardware.memory_gb:.4g} GB memory")  # decimal GB (16 GiB = 17.18 GB)
    if hardware.gpu_count:
        parts.append(f"{hardware.gpu_count} x {hardware.gpu_model or 'GPU'}")
    return ", ".join(parts)


def _latex(value: float) -> str:
    """A figure for LaTeX: grouped thousands with a thin space, "<" in math mode."""
    return figure(value).replace(",", "\\,").replace("< ", "$<$ ")


def latex(estimate: Estimate) -> str:
    """A paragraph for a paper's acknowledgements or appendix, plus a BibTeX entry for the tool."""
    from carbon import __version__

    intensity_source = next((s for s in estimate.sources if s.factor == "intensity"), None)
    co2e, energy = estimate.co2e_kg, estimate.energy_kwh
    duration = ""
    if estimate.usage is not None and estimate.usage.duration_s:
        duration = f" over {figure(estimate.usage.duration_h)}~h"
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
        + f", drawing an estimated {_latex(energy.central)}~kWh of electricity "
        f"(range {_latex(energy.low)}--{_latex(energy.high)}~kWh, data-centre PUE {_latex(estimate.pue.central)} included). "
        f"At a grid carbon intensity of {_latex(estimate.intensity_g_per_kwh.central)}~gCO$_2$e/kWh{source_text}, "
        f"this corresponds to {_latex(co2e.central)}~kgCO$_2$e (range {_latex(co2e.low)}--{_latex(co2e.high)}~kgCO$_2$e), "
        f"estimated with carbon~{__version__}~\\cite{{carbon_tool}}."
    )
    embodied = dict(estimate.extra).get("embodied")
    if embodied is not None:
        extra = dict(estimate.extra)
        paragraph += (
            f" Manufacturing the hardware adds an estimated {extra['embodied_co2e_kg']:.3g}~kgCO$_2$e of embodied emissions "
            f"(range {extra['embodied_co2e_kg_low']:.3g}--{extra['embodied_co2e_kg_high']:.3g}~kgCO$_2$e; the host's share "
            f"over a {embodied['lifetime_years']:.3g}-year lifetime, Cloud Carbon Footprint coefficients), not included above."
        )
    paragraph += "\n"
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
