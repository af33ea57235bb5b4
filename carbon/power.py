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
GB_PER_GIB = 2**30 / 10**9  # decimal GB in one GiB
GPU_UTIL_POWER_LOW = 0.5
GPU_UTIL_POWER_HIGH = 1.25


def _mean(values: Any) -> float:
    # statistics.mean costs 5 ms of import on every `carbon run`; the factors need only this.
    values = list(values)
    return sum(values) / len(values)


# --- pure formulas (floats or numpy arrays) ---------------------------------------------------


def chip_share(threads_used: Any, threads_per_chip: Any) -> Any:
    """Chips' worth of a named CPU a job uses: threads used / hardware threads of one chip.

    Not capped at 1: 152 threads of a 76-thread chip are two chips (a two-socket host). Works
    element-wise on numpy arrays, so the batch engine charges each job its own share."""
    return threads_used / threads_per_chip


def vcpu_power_w(vcpus: Any, min_w_per_vcpu: Any, max_w_per_vcpu: Any, util: Any) -> Any:
    """Cloud Carbon Footprint's linear model: per-vCPU watts between idle and full load."""
    return vcpus * (min_w_per_vcpu + util * (max_w_per_vcpu - min_w_per_vcpu))


def tdp_power_w(tdp_w: Any, util: Any, idle_fraction: Any) -> Any:
    """A CPU known only by its TDP: idle share of TDP plus the rest in proportion to load."""
    return tdp_w * (idle_fraction + util * (1.0 - idle_fraction))


def memory_power_w(memory_gb: Any, w_per_gib: Any) -> Any:
    """`memory_gb` in decimal GB (carbon's unit everywhere); the coefficient is per GiB, the unit its
    sources (CCF, Green Algorithms: W per GB of DIMM capacity, which is binary) and the clouds use."""
    return memory_gb / GB_PER_GIB * w_per_gib


def gpu_power_w(gpu_count: Any, idle_w: Any, tdp_w: Any, util: Any) -> Any:
    return gpu_count * (idle_w + util * (tdp_w - idle_w))


def gpu_power_share(util: Any, end: str = "central") -> Any:
    """Share of the idle-to-TDP span drawn at a GPU utilisation (NVML's `utilization.gpu`).

    That utilisation is the share of time a kernel ran, not how much of the chip it exercised:
    a memory-bound kernel keeps it at 100 % while drawing far below TDP. Central: the utilisation;
    low end half of it, high end 1.25 times it (capped at 1) -- carbon's documented assumption,
    not a measurement; a measured NVML energy counter replaces the model where there is one."""
    factor = {"central": 1.0, "low": GPU_UTIL_POWER_LOW, "high": GPU_UTIL_POWER_HIGH}[end]
    share = util * factor
    return (share + 1.0 - abs(share - 1.0)) / 2.0  # min(share, 1) for floats and arrays alike


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
def _microarchitectures() -> dict[str, dict[str, Any]]:
    """microarchitecture (lower-case) -> its SPECpower-derived per-thread coefficients with ranges."""
    rows: dict[str, dict[str, Any]] = {}
    for row in table("microarchitectures"):
        rows[row["microarchitecture"].lower()] = {
            "name": row["microarchitecture"],
            "min": Bounds(float(row["min_w_per_thread"]), float(row["min_low"]), float(row["min_high"])),
            "max": Bounds(float(row["max_w_per_thread"]), float(row["max_low"]), float(row["max_high"])),
            "method": row["method"],
            "runs": int(row["runs"] or 0),
            "source": row["source"],
        }
    return rows


@derived
def idle_fraction_of_max() -> Bounds:
    """Idle draw as a share of full-load draw, across the SPECpower-derived microarchitectures."""
    # Measured architectures only: a proxy repeats the figures of the chip it borrows from.
    rows = _microarchitectures().values()
    ratios = [r["min"].central / r["max"].central for r in rows if not r["method"].startswith("proxy")]
    return Bounds(_mean(ratios), min(ratios), max(ratios))


def _coefficient(archs: list[str], key: str) -> Bounds | None:
    """Central: the mean over the possible architectures; range: from the lowest low to the highest high."""
    found = [row[key] for row in (_microarchitectures().get(a.lower()) for a in archs) if row]
    if not found:
        return None
    return Bounds(_mean(b.central for b in found), min(b.low for b in found), max(b.high for b in found))


def _arch_detail(archs: list[str]) -> str:
    parts = []
    for arch in archs:
        row = _microarchitectures().get(arch.lower())
        if row:
            how = f"{row['runs']} SPECpower runs" if row["method"] == "specpower" else row["method"]
            parts.append(f"{row['name']} ({how})")
    return ", ".join(parts)


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
    memory_gb: float  # decimal GB
    memory_w_per_gb: Bounds  # W per GiB (its sources' unit); memory_power_w converts
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
        share = gpu_power_share(util, end)  # SM utilisation is not power share: the ends widen it
        return gpu_power_w(self.gpu_count, getattr(self.gpu_idle_w, end), getattr(self.gpu_tdp_w, end), share)

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


def _per_thread_fallback(vcpus: float, tdp_w: float, what: str, sources: list[Source]) -> Bounds:
    """A named CPU whose threads per chip nobody knows: the median TDP per thread of the CPUs that
    have a count, times the threads used; low end the 10th percentile, high end the 90th or the
    whole chip, whichever is more."""
    per_thread = constant("default_cpu_tdp_w_per_thread")
    sources.append(
        _source(
            "cpu_power",
            constants()["default_cpu_tdp_w_per_thread"][1],
            f"{what}: threads per chip unknown, {per_thread.central:g} W of TDP per thread "
            f"({per_thread.low:g}-{per_thread.high:g}) x {vcpus:g} threads",
            method="default",
        )
    )
    return Bounds(vcpus * per_thread.central, vcpus * per_thread.low, max(vcpus * per_thread.high, tdp_w))


def _threads_from_name(name: str) -> float | None:
    """Threads per chip by vendor naming rules: cores spelled in the name times threads per core."""
    from carbon.hardware_names import cores_in_name, cpu_key, threads_per_core

    cores, smt = cores_in_name(name), threads_per_core(cpu_key(name))
    return float(cores * smt) if cores and smt else None


def _named_cpu(hardware: Hardware, row: dict[str, str], sources: list[Source], warnings: list[str]) -> dict[str, Any]:
    """A CPU model from the table: its TDP times the share of the chip in use."""
    tdp = float(row["tdp_w"])
    vcpus = hardware.vcpus
    threads = float(hardware.threads_per_chip or row.get("threads") or 0) or None
    counted = "given" if hardware.threads_per_chip else (row.get("counts_source") or "")
    if threads is None:
        threads = _threads_from_name(hardware.cpu_model or "")
        counted = "cores in the model name x the vendor's threads per core" if threads else ""
    if not vcpus:
        sources.append(_source("cpu_power", row["source"], f"{row['model']}: TDP {tdp:g} W, one whole chip"))
        return {"cpu_method": "tdp", "vcpus": threads or 0.0, "cpu_tdp_w": Bounds.exact(tdp)}
    if threads is None:
        warnings.append(
            f"threads per chip of {row['model']!r} unknown: charged {vcpus:g} threads at the median TDP per thread "
            "of known CPUs, with a range up to the whole chip (--threads-per-chip narrows it)"
        )
        return {
            "cpu_method": "tdp",
            "vcpus": vcpus,
            "cpu_tdp_w": _per_thread_fallback(vcpus, tdp, row["model"], sources),
        }
    share = chip_share(vcpus, threads)
    sources.append(
        _source(
            "cpu_power",
            row["source"],
            f"{row['model']}: TDP {tdp:g} W x {vcpus:g}/{threads:g} threads ({share:.3g} chip; threads: {counted})",
        )
    )
    return {"cpu_method": "tdp", "vcpus": vcpus, "cpu_tdp_w": Bounds.exact(tdp * share)}


def _cpu_family(
    hardware: Hardware, members: list[dict[str, str]], sources: list[Source], warnings: list[str]
) -> dict[str, Any]:
    """A family name ('AMD EPYC', 'Intel Xeon Gold'): the SPECpower coefficients of its members'
    microarchitectures (range over them), else TDP per thread over its members."""
    name = hardware.cpu_model
    vcpus = hardware.vcpus
    archs = sorted({r["microarchitecture"] for r in members if r.get("microarchitecture")})
    low_high = _coefficient(archs, "min"), _coefficient(archs, "max")
    warnings.append(f"CPU {name!r} names a family of {len(members)} models: range over the family")
    if vcpus and low_high[0] is not None and low_high[1] is not None:
        sources.append(
            _source(
                "cpu_power",
                "specpower",
                f"family {name!r}: {_arch_detail(archs)}; {low_high[0].central:.3g}-{low_high[1].central:.3g} W per thread",
            )
        )
        return {"cpu_method": "vcpu", "vcpus": vcpus, "min_w_per_vcpu": low_high[0], "max_w_per_vcpu": low_high[1]}
    per_thread = [float(r["tdp_w"]) / float(r["threads"]) for r in members if r.get("threads")]
    tdps = sorted(float(r["tdp_w"]) for r in members)
    if vcpus and per_thread:
        per_thread.sort()
        bounds = Bounds(vcpus * per_thread[len(per_thread) // 2], vcpus * per_thread[0], vcpus * per_thread[-1])
        detail = f"{len(per_thread)} members with thread counts: {per_thread[0]:.3g}-{per_thread[-1]:.3g} W per thread"
    else:
        bounds = Bounds(tdps[len(tdps) // 2], tdps[0], tdps[-1])
        detail = f"whole chip, TDP {tdps[0]:g}-{tdps[-1]:g} W over {len(tdps)} members"
    sources.append(_source("cpu_power", members[0]["source"], f"family {name!r}: {detail}", method="default"))
    return {"cpu_method": "tdp", "vcpus": vcpus or 0.0, "cpu_tdp_w": bounds}


def _cpu_factors(hardware: Hardware, sources: list[Source], warnings: list[str]) -> dict[str, Any]:
    vcpus = hardware.vcpus
    archs = [a for a in (hardware.microarchitecture or "").split("|") if a]
    # 1. Known microarchitecture(s): SPECpower-derived per-thread coefficients.
    if archs and vcpus:
        low_high = _coefficient(archs, "min"), _coefficient(archs, "max")
        if low_high[0] is not None and low_high[1] is not None:
            sources.append(
                _source(
                    "cpu_power",
                    "specpower",
                    f"{_arch_detail(archs)}: {low_high[0].central:.3g}-{low_high[1].central:.3g} W per vCPU",
                )
            )
            return {"cpu_method": "vcpu", "vcpus": vcpus, "min_w_per_vcpu": low_high[0], "max_w_per_vcpu": low_high[1]}
        if not hardware.cpu_model:
            warnings.append(
                f"no power coefficients for microarchitecture {hardware.microarchitecture!r}; "
                "using the fleet-average per-vCPU coefficients with a wider range"
            )
    # 2. Known CPU model: its TDP, shared by the threads in use; a family name: the family's range.
    if hardware.cpu_model:
        row = catalog.cpu(hardware.cpu_model)
        if row is not None:
            return _named_cpu(hardware, row, sources, warnings)
        members = catalog.cpu_family(hardware.cpu_model)
        if len(members) == 1:  # a partial name of one model ("Xeon 8368Q"): that model
            return _named_cpu(hardware, members[0], sources, warnings)
        if members:
            return _cpu_family(hardware, members, sources, warnings)
        warnings.append(
            f"unknown CPU model {hardware.cpu_model!r}: not in the bundled CPU table; "
            "using the default power per core with a wider range"
        )
        from carbon.hardware_names import cores_in_name

        per_core = constant("default_cpu_w_per_core")
        cores = hardware.cpu_cores or cores_in_name(hardware.cpu_model) or (vcpus / 2 if vcpus else 1)
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
    all_rows = list(_microarchitectures().values())
    min_c, max_c = constant("default_min_w_per_vcpu"), constant("default_max_w_per_vcpu")
    min_b = Bounds(
        min_c.central,
        min(min_c.low, *(r["min"].low for r in all_rows)),
        max(min_c.high, *(r["min"].high for r in all_rows)),
    )
    max_b = Bounds(
        max_c.central,
        min(max_c.low, *(r["max"].low for r in all_rows)),
        max(max_c.high, *(r["max"].high for r in all_rows)),
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


def _gpu_row(hardware: Hardware, row: dict[str, str], idle_fraction: Bounds, sources: list[Source]) -> dict[str, Any]:
    """A GPU model from the table: its board power per GPU, idle from the row or the Teads ratio."""
    tdp = float(row["tdp_w"])
    idle = float(row["idle_w"]) if row.get("idle_w") else tdp * idle_fraction.central
    board = (
        f" ({row['gpus_per_board']} GPUs per {float(row['board_tdp_w']):g} W board)"
        if row.get("gpus_per_board") not in (None, "", "1")
        else ""
    )
    sources.append(
        _source("gpu_power", row["source"], f"{row['model']}: TDP {tdp:g} W per GPU{board}, idle {idle:g} W")
    )
    return {
        "gpu_count": hardware.gpu_count,
        "gpu_idle_w": Bounds(idle, min(idle, tdp * idle_fraction.low), max(idle, tdp * idle_fraction.high)),
        "gpu_tdp_w": Bounds.exact(tdp),
    }


def _gpu_factors(hardware: Hardware, sources: list[Source], warnings: list[str]) -> dict[str, Any]:
    if not hardware.gpu_count:
        return {"gpu_count": 0, "gpu_idle_w": Bounds.exact(0.0), "gpu_tdp_w": Bounds.exact(0.0)}
    idle_fraction = constant("default_gpu_idle_fraction")
    row = catalog.gpu(hardware.gpu_model) if hardware.gpu_model else None
    members = catalog.gpu_family(hardware.gpu_model) if hardware.gpu_model and row is None else []
    if len(members) == 1:  # a partial name of one board: that board
        row, members = members[0], []
    if row is not None:
        return _gpu_row(hardware, row, idle_fraction, sources)
    if members:
        tdps = sorted(float(r["tdp_w"]) for r in members)
        tdp = Bounds(tdps[len(tdps) // 2], tdps[0], tdps[-1])
        warnings.append(
            f"GPU {hardware.gpu_model!r} names a family of {len(members)} boards: TDP {tdp.low:g}-{tdp.high:g} W"
        )
        sources.append(
            _source(
                "gpu_power",
                members[0]["source"],
                f"family {hardware.gpu_model!r}: TDP {tdp.low:g}-{tdp.high:g} W over "
                f"{', '.join(r['model'] for r in members)}",
                method="default",
            )
        )
    else:
        kind = "accelerator" if _is_accelerator(hardware.gpu_model) else "GPU model"
        what = f"unknown {kind} {hardware.gpu_model!r}" if hardware.gpu_model else "GPU model not given"
        tdp = constant("default_gpu_tdp_w")
        warnings.append(
            f"{what}: no published power in the bundle; default TDP {tdp.central:g} W ({tdp.low:g}-{tdp.high:g})"
        )
        sources.append(
            _source(
                "gpu_power",
                constants()["default_gpu_tdp_w"][1],
                f"{what}: default TDP {tdp.central:g} W, range {tdp.low:g}-{tdp.high:g} W",
                method="default",
            )
        )
    return {
        "gpu_count": hardware.gpu_count,
        "gpu_idle_w": Bounds(
            tdp.central * idle_fraction.central, tdp.low * idle_fraction.low, tdp.high * idle_fraction.high
        ),
        "gpu_tdp_w": tdp,
    }


def _is_accelerator(name: str | None) -> bool:
    return name is not None and any(w in name.lower() for w in ("trainium", "inferentia", "tpu", "gaudi", "ai100"))


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
                f"{memory_w.central:g} W per GiB ({memory_w.low:g}-{memory_w.high:g}) x {memory_gb / GB_PER_GIB:.4g} GiB "
                f"(= {memory_gb:g} GB)",
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
