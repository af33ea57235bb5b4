"""Human-facing views of an Estimate: a summary, everyday equivalents, a comparison across
regions and a LaTeX snippet for a paper. Pure functions of the estimate and the bundled factors.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon.bundle import derived, table
from carbon.model import Estimate
from carbon.units import ENERGY_KWH, LENGTH_KM, MASS_KG, figure, quantity

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
    factors = _factors()
    co2e_g = estimate.co2e_kg.central * 1000.0
    energy_kwh = estimate.energy_kwh.central
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


def compare_regions(estimate: Estimate) -> Comparison | None:
    """The same IT energy in the provider's lowest- and highest-CO2e regions on the estimate's basis
    (each with its own PUE and latest intensity); regions on another basis are left out, because a
    direct and a lifecycle kilogram do not compare. None off the cloud or with no other region."""
    provider = estimate.location.provider
    if provider is None or estimate.intensity_basis is None:
        return None
    from carbon.model import co2e_kg, facility_energy_kwh
    from carbon.region_figures import figures

    it_kwh = estimate.energy.it_kwh.central
    priced = []
    for region, basis, pue, intensity_g_per_kwh in figures(provider):
        if basis == estimate.intensity_basis:
            co2e = co2e_kg(facility_energy_kwh(it_kwh, pue), intensity_g_per_kwh)
            priced.append((co2e, region))
    if len(priced) < 2:
        return None
    low, high = min(priced), max(priced)
    return Comparison(provider, estimate.intensity_basis, len(priced), low[1], low[0], high[1], high[0])


def _fmt_mass(kg: float) -> str:
    return quantity(kg, MASS_KG)


def _fmt_energy(kwh: float) -> str:
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
        f"CO2e:       {_fmt_mass(co2e.central)}  (range {_fmt_mass(co2e.low)} - {_fmt_mass(co2e.high)})",
    ]
    if mixed:  # never one figure across emission-factor bases
        co2e_lines = [
            f"CO2e {basis + ':':<12} {_fmt_mass(part['co2e_kg'])}  (range {_fmt_mass(part['co2e_kg_low'])} - "
            f"{_fmt_mass(part['co2e_kg_high'])}, {part['intervals']} intervals; not summed across bases)"
            for basis, part in by_basis.items()
        ]
    lines = [
        *co2e_lines,
        f"Energy:     {_fmt_energy(energy.central)}  (range {_fmt_energy(energy.low)} - {_fmt_energy(energy.high)}, PUE included)",
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
    shown = [f"{name} {_fmt_energy(value)}" for name, value in parts if value > 0]
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
                f"Same work on {comparison.provider}: {_fmt_mass(comparison.lowest_co2e_kg)} in {comparison.lowest_region} "
                f"(lowest) to {_fmt_mass(comparison.highest_co2e_kg)} in {comparison.highest_region} (highest), "
                f"among its {comparison.regions} regions with {comparison.basis} figures"
            )
    for warning in estimate.warnings:
        lines.append(f"Warning: {warning}")
    return "\n".join(lines)


def _latex_escape(text: str) -> str:
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
            f" ({_latex_escape(intensity_source.dataset)}{year}, {estimate.intensity_basis or 'unknown'} basis)"
        )
    paragraph = (
        "% Generated by carbon " + __version__ + "\n"
        f"The computations{duration} used {_latex_escape(_hardware_text(estimate))} in "
        f"{_latex_escape(estimate.location.region)}"
        + (f" ({_latex_escape(estimate.location.name)})" if estimate.location.name else "")
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
    bibtex = (
        "@software{carbon_tool,\n"
        "  title   = {carbon: measure and estimate the CO2e of computing},\n"
        "  author  = {{carbon contributors}},\n"
        f"  version = {{{__version__}}},\n"
        "  year    = {2026},\n"
        "  note    = {Open-source tool; factors and sources listed in its data manifest}\n"
        "}\n"
    )
    return paragraph + "\n" + bibtex
