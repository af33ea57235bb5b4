"""The energy model: how many watts each component draws, with a range, from what is known of it.

The formulas are pure functions that work on floats and on numpy arrays alike, so that the
offline estimate, the tracker's modelled meter and the vectorised batch engine share one copy
of the arithmetic. `power_model(hardware)` resolves the factors for one machine once.

Ranges: every coefficient has a low and a high end (spread between the SPECpower-derived
tables, the memory datasheets, the GPU idle fraction); an unknown utilisation spans 0..1
around a central 50 % (Cloud Carbon Footprint's fleet average), instead of pretending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carbon import catalog
from carbon.bundle import derived, table
from carbon.errors import UserInputError
from carbon.model import Bounds, Energy, Hardware, Source, Usage

UNKNOWN_UTIL_CENTRAL = 0.5
ENDS = ("central", "low", "high")  # the order of Bounds.as_tuple()


def _mean(values: Any) -> float:
    # statistics.mean costs 5 ms of import on every `carbon run`; the factors need only this.
    values = list(values)
    return sum(values) / len(values)


# --- pure formulas (floats or numpy arrays) ---------------------------------------------------


def vcpu_power_w(vcpus: Any, min_w_per_vcpu: Any, max_w_per_vcpu: Any, util: Any) -> Any:
    """Cloud Carbon Footprint's linear model: per-vCPU watts between idle and full load."""
    return vcpus * (min_w_per_vcpu + util * (max_w_per_vcpu - min_w_per_vcpu))


def tdp_power_w(tdp_w: Any, util: Any, idle_fraction: Any) -> Any:
    """A CPU known only by its TDP: idle share of TDP plus the rest in proportion to load."""
    return tdp_w * (idle_fraction + util * (1.0 - idle_fraction))


def memory_power_w(memory_gb: Any, w_per_gb: Any) -> Any:
    return memory_gb * w_per_gb


def gpu_power_w(gpu_count: Any, idle_w: Any, tdp_w: Any, util: Any) -> Any:
    return gpu_count * (idle_w + util * (tdp_w - idle_w))


def util_bounds(util: float | None, central_if_unknown: float = UNKNOWN_UTIL_CENTRAL) -> Bounds:
    return Bounds.exact(util) if util is not None else Bounds(central_if_unknown, 0.0, 1.0)


# --- bundled factors ----------------------------------------------------------------------------


@derived
def constants() -> dict[str, tuple[Bounds, str]]:
    """name -> (value with its range, source id)."""
    result = {}
    for row in table("constants"):
        central = float(row["value"])
        low = float(row["value_low"]) if row.get("value_low") else central
        high = float(row["value_high"]) if row.get("value_high") else central
        result[row["name"]] = (Bounds(central, low, high), row["source"])
    return result


def constant(name: str) -> Bounds:
    return constants()[name][0]


@derived
def _microarchitectures() -> dict[str, list[dict[str, Any]]]:
    """microarchitecture (lower-case) -> coefficient rows from every provider table."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in table("microarchitectures"):
        rows.setdefault(row["microarchitecture"].lower(), []).append(
            {
                "provider": row["provider"],
                "min": float(row["min_w_per_vcpu"]),
                "max": float(row["max_w_per_vcpu"]),
                "source": row["source"],
            }
        )
    return rows


@derived
def idle_fraction_of_max() -> Bounds:
    """Idle draw as a share of full-load draw, across the SPECpower-derived microarchitectures."""
    ratios = [r["min"] / r["max"] for rows in _microarchitectures().values() for r in rows if r["max"] > 0]
    return Bounds(_mean(ratios), min(ratios), max(ratios))


def _coefficient(archs: list[str], provider: str | None, key: str) -> Bounds | None:
    """Central: the provider's own table (else 'any'), averaged over the possible architectures;
    range: the spread of that coefficient over every table and every possible architecture."""
    table_rows = _microarchitectures()
    centrals: list[float] = []
    spread: list[float] = []
    for arch in archs:
        rows = table_rows.get(arch.lower())
        if not rows:
            continue
        spread.extend(r[key] for r in rows)
        preferred = (
            [r for r in rows if r["provider"] == provider] or [r for r in rows if r["provider"] == "any"] or rows
        )
        centrals.append(_mean(r[key] for r in preferred))
    if not centrals:
        return None
    central = _mean(centrals)
    return Bounds(central, min(min(spread), central), max(max(spread), central))


# --- the resolved model for one machine ---------------------------------------------------------


@dataclass(frozen=True)
class PowerModel:
    """Factors for one Hardware, each with its range; how the CPU is modelled is `cpu_method`."""

    cpu_method: str  # "vcpu" (per-vCPU coefficients) or "tdp" (CPU model's TDP)
    vcpus: float
    min_w_per_vcpu: Bounds  # for cpu_method "vcpu"
    max_w_per_vcpu: Bounds
    cpu_tdp_w: Bounds  # for cpu_method "tdp": TDP times the share of the chip in use
    cpu_idle_fraction: Bounds
    memory_gb: float
    memory_w_per_gb: Bounds
    gpu_count: float
    gpu_idle_w: Bounds
    gpu_tdp_w: Bounds
    default_cpu_util: float
    sources: tuple[Source, ...]
    warnings: tuple[str, ...]

    # The *_at methods take one end of the coefficients' ranges ("central", "low", "high") and a
    # utilisation that may be a float or a numpy array: the batch engine calls them per kind of
    # hardware with every job's utilisation at once, the Bounds methods below per estimate.

    def cpu_power_w_at(self, util: Any, end: str) -> Any:
        if self.cpu_method == "vcpu":
            low_w, high_w = getattr(self.min_w_per_vcpu, end), getattr(self.max_w_per_vcpu, end)
            return vcpu_power_w(self.vcpus, low_w, high_w, util)
        # Lower idle fraction means less draw at partial load, so the low end pairs with it.
        return tdp_power_w(getattr(self.cpu_tdp_w, end), util, getattr(self.cpu_idle_fraction, end))

    def ram_power_w_at(self, memory_gb: Any, end: str) -> Any:
        return memory_power_w(memory_gb, getattr(self.memory_w_per_gb, end))

    def gpu_power_w_at(self, util: Any, end: str) -> Any:
        return gpu_power_w(self.gpu_count, getattr(self.gpu_idle_w, end), getattr(self.gpu_tdp_w, end), util)

    def cpu_power_w(self, cpu_util: float | None) -> Bounds:
        util = util_bounds(cpu_util, self.default_cpu_util)
        return Bounds(*(self.cpu_power_w_at(getattr(util, end), end) for end in ENDS))

    def ram_power_w(self) -> Bounds:
        return Bounds(*(self.ram_power_w_at(self.memory_gb, end) for end in ENDS))

    def gpu_power_w(self, gpu_util: float | None) -> Bounds:
        if self.gpu_count == 0:
            return Bounds.exact(0.0)
        util = util_bounds(gpu_util)
        return Bounds(*(self.gpu_power_w_at(getattr(util, end), end) for end in ENDS))

    def power_w(self, cpu_util: float | None, gpu_util: float | None) -> dict[str, Bounds]:
        return {"cpu": self.cpu_power_w(cpu_util), "ram": self.ram_power_w(), "gpu": self.gpu_power_w(gpu_util)}

    def energy(self, usage: Usage) -> Energy:
        """Modelled IT energy for a duration at constant (or unknown) utilisation."""
        to_kwh = usage.duration_h / 1000.0
        power = self.power_w(usage.cpu_util, usage.gpu_util)
        return Energy(
            cpu_kwh=power["cpu"].scale(to_kwh),
            ram_kwh=power["ram"].scale(to_kwh),
            gpu_kwh=power["gpu"].scale(to_kwh),
            methods=(("cpu", "modelled"), ("gpu", "modelled"), ("ram", "modelled")),
        )


def _source(factor: str, source_id: str, detail: str, method: str = "dataset") -> Source:
    from carbon.provenance import describe

    dataset, year, licence = describe(source_id)
    return Source(factor=factor, dataset=dataset, year=year, licence=licence, method=method, detail=detail)


def _widen(bounds: Bounds, low_factor: float, high_factor: float) -> Bounds:
    return Bounds(bounds.central, bounds.low * low_factor, bounds.high * high_factor)


def _cpu_factors(hardware: Hardware, sources: list[Source], warnings: list[str]) -> dict[str, Any]:
    vcpus = hardware.vcpus
    archs = [a for a in (hardware.microarchitecture or "").split("|") if a]
    # 1. Known microarchitecture(s): SPECpower-derived per-vCPU coefficients.
    if archs and vcpus:
        low_high = _coefficient(archs, hardware.provider, "min"), _coefficient(archs, hardware.provider, "max")
        if low_high[0] is not None and low_high[1] is not None:
            sources.append(
                _source(
                    "cpu_power",
                    "ccf-coefficients",
                    f"{' | '.join(archs)}: {low_high[0].central:.3g}-{low_high[1].central:.3g} W per vCPU",
                )
            )
            return {"cpu_method": "vcpu", "vcpus": vcpus, "min_w_per_vcpu": low_high[0], "max_w_per_vcpu": low_high[1]}
        warnings.append(
            f"no power coefficients for microarchitecture {hardware.microarchitecture!r}; "
            "using the fleet-average per-vCPU coefficients with a wider range"
        )
    # 2. Known CPU model: its TDP, shared by the threads in use.
    if hardware.cpu_model:
        row = catalog.cpu(hardware.cpu_model)
        if row is not None and row.get("tdp_w"):
            tdp = float(row["tdp_w"])
            threads = (
                float(row["threads"]) if row.get("threads") else (float(row["cores"]) * 2 if row.get("cores") else None)
            )
            share = min(1.0, vcpus / threads) if (vcpus and threads) else 1.0
            sources.append(
                _source(
                    "cpu_power",
                    row["source"],
                    f"{row['model']}: TDP {tdp:g} W" + (f", {share:.0%} of its threads" if share < 1 else ""),
                )
            )
            return {"cpu_method": "tdp", "vcpus": vcpus or threads or 0.0, "cpu_tdp_w": Bounds.exact(tdp * share)}
        warnings.append(
            f"unknown CPU model {hardware.cpu_model!r}: not in the bundled CPU table; "
            "using the default power per core with a wider range"
        )
        per_core = constant("default_cpu_w_per_core")
        cores = hardware.cpu_cores or (vcpus / 2 if vcpus else 1)
        sources.append(
            _source(
                "cpu_power",
                constants()["default_cpu_w_per_core"][1],
                f"unknown CPU: {per_core.central:g} W per core x {cores:g} cores",
                method="default",
            )
        )
        return {"cpu_method": "tdp", "vcpus": vcpus or 0.0, "cpu_tdp_w": _widen(per_core.scale(cores), 0.5, 1.5)}
    # 3. Only a vCPU count: the fleet-average coefficients, spread over every microarchitecture.
    if not vcpus:
        raise UserInputError("hardware has no CPU: give an instance type, a vCPU count or a CPU model")
    all_rows = [r for rows in _microarchitectures().values() for r in rows]
    min_c, max_c = constant("default_min_w_per_vcpu"), constant("default_max_w_per_vcpu")
    min_b = Bounds(
        min_c.central, min(min_c.low, *(r["min"] for r in all_rows)), max(min_c.high, *(r["min"] for r in all_rows))
    )
    max_b = Bounds(
        max_c.central, min(max_c.low, *(r["max"] for r in all_rows)), max(max_c.high, *(r["max"] for r in all_rows))
    )
    sources.append(
        _source(
            "cpu_power",
            constants()["default_min_w_per_vcpu"][1],
            f"CPU not named: fleet average {min_b.central:g}-{max_b.central:g} W per vCPU, "
            "range over every microarchitecture",
            method="default",
        )
    )
    return {"cpu_method": "vcpu", "vcpus": vcpus, "min_w_per_vcpu": min_b, "max_w_per_vcpu": max_b}


def _gpu_factors(hardware: Hardware, sources: list[Source], warnings: list[str]) -> dict[str, Any]:
    if not hardware.gpu_count:
        return {"gpu_count": 0, "gpu_idle_w": Bounds.exact(0.0), "gpu_tdp_w": Bounds.exact(0.0)}
    row = catalog.gpu(hardware.gpu_model) if hardware.gpu_model else None
    idle_fraction = constant("default_gpu_idle_fraction")
    if row is not None:
        tdp = float(row["tdp_w"])
        idle = float(row["idle_w"]) if row.get("idle_w") else tdp * idle_fraction.central
        sources.append(_source("gpu_power", row["source"], f"{row['model']}: TDP {tdp:g} W, idle {idle:g} W"))
        return {
            "gpu_count": hardware.gpu_count,
            "gpu_idle_w": Bounds(idle, min(idle, tdp * idle_fraction.low), max(idle, tdp * idle_fraction.high)),
            "gpu_tdp_w": Bounds.exact(tdp),
        }
    what = f"unknown GPU model {hardware.gpu_model!r}" if hardware.gpu_model else "GPU model not given"
    warnings.append(f"{what}: using the default GPU TDP with a wider range")
    default_tdp = constant("default_gpu_tdp_w")
    sources.append(
        _source(
            "gpu_power",
            constants()["default_gpu_tdp_w"][1],
            f"{what}: default TDP {default_tdp.central:g} W",
            method="default",
        )
    )
    return {
        "gpu_count": hardware.gpu_count,
        "gpu_idle_w": Bounds(
            default_tdp.central * idle_fraction.central,
            default_tdp.low * idle_fraction.low,
            default_tdp.high * idle_fraction.high,
        ),
        "gpu_tdp_w": default_tdp,
    }


def power_model(hardware: Hardware) -> PowerModel:
    sources: list[Source] = []
    warnings: list[str] = []
    cpu = _cpu_factors(hardware, sources, warnings)
    gpu = _gpu_factors(hardware, sources, warnings)
    memory_gb = hardware.memory_gb or 0.0
    memory_w = constant("memory_w_per_gb")
    if memory_gb:
        sources.append(
            _source(
                "memory_power",
                constants()["memory_w_per_gb"][1],
                f"{memory_w.central:g} W per GB ({memory_w.low:g}-{memory_w.high:g})",
            )
        )
    baseline = hardware.burstable_baseline_fraction
    zero = Bounds.exact(0.0)
    return PowerModel(
        cpu_method=cpu["cpu_method"],
        vcpus=float(cpu["vcpus"]),
        min_w_per_vcpu=cpu.get("min_w_per_vcpu", zero),
        max_w_per_vcpu=cpu.get("max_w_per_vcpu", zero),
        cpu_tdp_w=cpu.get("cpu_tdp_w", zero),
        cpu_idle_fraction=idle_fraction_of_max(),
        memory_gb=memory_gb,
        memory_w_per_gb=memory_w,
        gpu_count=gpu["gpu_count"],
        gpu_idle_w=gpu["gpu_idle_w"],
        gpu_tdp_w=gpu["gpu_tdp_w"],
        # A burstable instance cannot sustain more than its baseline on average: centre there.
        default_cpu_util=baseline if baseline is not None else UNKNOWN_UTIL_CENTRAL,
        sources=tuple(sources),
        warnings=tuple(warnings),
    )
