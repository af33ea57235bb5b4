"""Google Compute Engine machine types from their names.

Google names predefined types `<series>-<shape>-<vCPUs>[-suffix]` and fixes the memory per vCPU
of each series and shape (n2-standard-8: 8 vCPUs x 4 GB = 32 GB), and names custom types
`[<series>-]custom-<vCPUs>-<memory MB>[-ext]`. So any type resolves from its name alone, even one
no bundled table lists. The per-series figures below are transcribed from Google's machine
family pages (https://cloud.google.com/compute/docs/general-purpose-machines,
compute-optimized-machines, memory-optimized-machines, accelerator-optimized-machines,
storage-optimized-machines). Pure functions only: this module is imported at runtime.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carbon.errors import UserInputError

if TYPE_CHECKING:
    from carbon.model import Hardware

# GPU names as the bundled gpus table spells them.
A100_40 = "A100 SXM4 40GB"
A100_80 = "A100 SXM4 80GB"
H100 = "H100 SXM"
H200 = "H200 SXM"
L4 = "L4"


@dataclass(frozen=True)
class MachineShape:
    """One machine type: what it has, and whether the figures came from a rule or a listed size."""

    name: str
    series: str
    vcpus: float
    memory_gib: float
    microarchitecture: str | None = None
    cpu_model: str | None = None
    gpu_model: str | None = None
    gpu_count: int = 0
    burstable_baseline_fraction: float | None = None
    custom: bool = False


@dataclass(frozen=True)
class Series:
    """A machine series: CPU platform, GB per vCPU per shape, listed sizes, and irregular types."""

    microarchitecture: str
    cpu_model: str = ""
    gb_per_vcpu: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    lssd_sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    floor_memory: bool = False  # c4: 3.75 GB/vCPU rounded down to whole GB (c4-standard-2 = 7 GB)
    # name -> (vCPUs, memory GB, GPU model, GPU count, burstable baseline per vCPU)
    fixed: dict[str, tuple[float, float, str, int, float | None]] = field(default_factory=dict)
    custom_memory_ok: bool = False


_P2 = (2, 4, 8, 16, 32)
SERIES: dict[str, Series] = {
    "n1": Series(
        "Skylake|Broadwell|Haswell|Ivy Bridge|Sandy Bridge",
        gb_per_vcpu={"standard": 3.75, "highmem": 6.5, "highcpu": 0.9},
        sizes={
            "standard": (1, 2, 4, 8, 16, 32, 64, 96),
            "highmem": (2, 4, 8, 16, 32, 64, 96),
            "highcpu": (2, 4, 8, 16, 32, 64, 96),
        },
        # Shared-core N1: fractional vCPU sustained (f1-micro 0.2 vCPU, g1-small 0.5 vCPU).
        fixed={"f1-micro": (1, 0.6, "", 0, 0.2), "g1-small": (1, 1.7, "", 0, 0.5)},
        custom_memory_ok=True,
    ),
    "n2": Series(
        "Cascade Lake|Ice Lake",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 1},
        sizes={
            "standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
            "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128),
            "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96),
        },
        fixed={"n2-highmem-128": (128, 864, "", 0, None)},
    ),
    "n2d": Series(
        "EPYC 2nd Gen|EPYC 3rd Gen",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 1},
        sizes={
            "standard": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
            "highmem": (2, 4, 8, 16, 32, 48, 64, 80, 96),
            "highcpu": (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224),
        },
    ),
    "e2": Series(
        "Skylake|Broadwell|Haswell|EPYC 2nd Gen",  # as Cloud Carbon Footprint lists E2 hosts
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 1},
        sizes={"standard": _P2, "highmem": (2, 4, 8, 16), "highcpu": _P2},
        # Shared-core E2: 2 vCPUs sustaining 0.25 / 0.5 / 1 vCPU in total.
        fixed={"e2-micro": (2, 1, "", 0, 0.125), "e2-small": (2, 2, "", 0, 0.25), "e2-medium": (2, 4, "", 0, 0.5)},
    ),
    "n4": Series(
        "Emerald Rapids",
        "Intel Xeon Platinum 8581C",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (2, 4, 8, 16, 32, 48, 64, 80) for s in ("standard", "highmem", "highcpu")},
    ),
    "n4d": Series(  # 5th-generation AMD EPYC (Turin)
        "EPYC 5th Gen",
        "AMD EPYC 9B45",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (2, 4, 8, 16, 32, 48, 64, 80, 96) for s in ("standard", "highmem", "highcpu")},
    ),
    "c4": Series(
        "Emerald Rapids|Granite Rapids",
        "Intel Xeon Platinum 8581C",
        gb_per_vcpu={"standard": 3.75, "highmem": 7.75, "highcpu": 2},
        sizes={s: (2, 4, 8, 16, 32, 48, 96, 192) for s in ("standard", "highmem", "highcpu")},
        floor_memory=True,
    ),
    "c4a": Series(
        "Google Axion",
        "Google Axion",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (1, 2, 4, 8, 16, 32, 48, 64, 72) for s in ("standard", "highmem", "highcpu")},
        lssd_sizes={s: (4, 8, 16, 32, 48, 64, 72) for s in ("standard", "highmem")},
    ),
    "c3": Series(
        "Sapphire Rapids",
        "Intel Xeon Platinum 8481C",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (4, 8, 22, 44, 88, 176) for s in ("standard", "highmem", "highcpu")},
        lssd_sizes={"standard": (4, 8, 22, 44, 88, 176)},
        fixed={
            "c3-standard-192-metal": (192, 768, "", 0, None),
            "c3-highcpu-192-metal": (192, 512, "", 0, None),
            "c3-highmem-192-metal": (192, 1536, "", 0, None),
        },
    ),
    "c3d": Series(
        "EPYC 4th Gen",
        "AMD EPYC 9B14",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (4, 8, 16, 30, 60, 90, 180, 360) for s in ("standard", "highmem", "highcpu")},
        lssd_sizes={s: (8, 16, 30, 60, 90, 180, 360) for s in ("standard", "highmem")},
        fixed={
            f"c3d-highcpu-{n}": (n, gb, "", 0, None)
            for n, gb in ((30, 59), (60, 118), (90, 177), (180, 354), (360, 708))
        },
    ),
    "c2": Series(
        "Cascade Lake",
        "Intel Xeon Gold 6253CL",
        gb_per_vcpu={"standard": 4},
        sizes={"standard": (4, 8, 16, 30, 60)},
    ),
    "c2d": Series(
        "EPYC 3rd Gen",
        "AMD EPYC 7B13",
        gb_per_vcpu={"standard": 4, "highmem": 8, "highcpu": 2},
        sizes={s: (2, 4, 8, 16, 32, 56, 112) for s in ("standard", "highmem", "highcpu")},
    ),
    "t2d": Series(
        "EPYC 3rd Gen", "AMD EPYC 7B13", gb_per_vcpu={"standard": 4}, sizes={"standard": (1, 2, 4, 8, 16, 32, 48, 60)}
    ),
    "t2a": Series(
        "Ampere Altra", "Ampere Altra Q64-30", gb_per_vcpu={"standard": 4}, sizes={"standard": (1, 2, 4, 8, 16, 32, 48)}
    ),
    "h3": Series(
        "Sapphire Rapids", "Intel Xeon Platinum 8481C", gb_per_vcpu={"standard": 4}, sizes={"standard": (88,)}
    ),
    "z3": Series(
        "Sapphire Rapids", "Intel Xeon Platinum 8481C", gb_per_vcpu={"highmem": 8}, sizes={"highmem": (88, 176)}
    ),
    "m1": Series(
        "Broadwell|Skylake",
        fixed={
            "m1-ultramem-40": (40, 961, "", 0, None),
            "m1-ultramem-80": (80, 1922, "", 0, None),
            "m1-ultramem-160": (160, 3844, "", 0, None),
            "m1-megamem-96": (96, 1433.6, "", 0, None),
        },
    ),
    "m2": Series(
        "Cascade Lake",
        "Intel Xeon Platinum 8280L",
        fixed={
            "m2-ultramem-208": (208, 5888, "", 0, None),
            "m2-ultramem-416": (416, 11776, "", 0, None),
            "m2-megamem-416": (416, 5888, "", 0, None),
            "m2-hypermem-416": (416, 8832, "", 0, None),
        },
    ),
    "m3": Series(
        "Ice Lake",
        "Intel Xeon Platinum 8373C",
        fixed={
            "m3-ultramem-32": (32, 976, "", 0, None),
            "m3-ultramem-64": (64, 1952, "", 0, None),
            "m3-ultramem-128": (128, 3904, "", 0, None),
            "m3-megamem-64": (64, 976, "", 0, None),
            "m3-megamem-128": (128, 1952, "", 0, None),
        },
    ),
    "x4": Series(
        "Sapphire Rapids",
        "Intel Xeon Platinum 8490H",
        fixed={
            "x4-megamem-960-metal": (960, 16384, "", 0, None),
            "x4-megamem-1440-metal": (1440, 24576, "", 0, None),
            "x4-megamem-1920-metal": (1920, 32768, "", 0, None),
        },
    ),
    "a2": Series(
        "Cascade Lake",
        "Intel Xeon Platinum 8273CL",
        fixed={
            "a2-highgpu-1g": (12, 85, A100_40, 1, None),
            "a2-highgpu-2g": (24, 170, A100_40, 2, None),
            "a2-highgpu-4g": (48, 340, A100_40, 4, None),
            "a2-highgpu-8g": (96, 680, A100_40, 8, None),
            "a2-megagpu-16g": (96, 1360, A100_40, 16, None),
            "a2-ultragpu-1g": (12, 170, A100_80, 1, None),
            "a2-ultragpu-2g": (24, 340, A100_80, 2, None),
            "a2-ultragpu-4g": (48, 680, A100_80, 4, None),
            "a2-ultragpu-8g": (96, 1360, A100_80, 8, None),
        },
    ),
    "a3": Series(
        "Sapphire Rapids",
        "Intel Xeon Platinum 8481C",
        fixed={
            "a3-highgpu-1g": (26, 234, H100, 1, None),
            "a3-highgpu-2g": (52, 468, H100, 2, None),
            "a3-highgpu-4g": (104, 936, H100, 4, None),
            "a3-highgpu-8g": (208, 1872, H100, 8, None),
            "a3-megagpu-8g": (208, 1872, H100, 8, None),
            "a3-edgegpu-8g": (208, 1872, H100, 8, None),
            "a3-ultragpu-8g": (224, 2952, H200, 8, None),
        },
    ),
    "a4": Series(  # NVIDIA B200, Intel Emerald Rapids hosts
        "Emerald Rapids",
        fixed={"a4-highgpu-8g": (224, 3968, "B200", 8, None)},
    ),
    "g2": Series(
        "Cascade Lake",
        "Intel Xeon Platinum 8273CL",
        fixed={
            f"g2-standard-{n}": (n, 4 * n, L4, gpus, None)
            for n, gpus in ((4, 1), (8, 1), (12, 1), (16, 1), (24, 2), (32, 1), (48, 4), (96, 8))
        },
    ),
}
# A3 Ultra runs on Emerald Rapids, the other A3 types on Sapphire Rapids (accelerator-optimized page).
_ARCH_OVERRIDES = {"a3-ultragpu-8g": ("Emerald Rapids", "Intel Xeon Platinum 8581C")}

_PREDEFINED = re.compile(r"([a-z][a-z0-9]*)-([a-z]+)-(\d+)(-lssd)?")
_CUSTOM = re.compile(r"(?:([a-z][a-z0-9]*)-)?custom-(\d+|micro|small|medium)-(\d+)(-ext)?")
# E2 shared-core custom types keep the shared-core vCPU count and sustained fraction.
_E2_SHARED = {"micro": 0.125, "small": 0.25, "medium": 0.5}


class MachineTypeError(UserInputError):
    """A name that is not a Compute Engine machine type."""


def parse_custom(name: str) -> MachineShape:
    """`n2-custom-8-32768`, `custom-4-16384` (N1), `e2-custom-medium-4096`, `...-ext` -> shape.

    Memory in a custom name is in MB as Google writes it (MiB: 32768 MB = 32 GB).
    """
    match = _CUSTOM.fullmatch(name.strip().lower())
    if not match:
        raise MachineTypeError(f"{name!r} is not a custom machine type ([SERIES-]custom-VCPUS-MEMORY_MB[-ext])")
    series_name = match.group(1) or "n1"
    size, memory_mb = match.group(2), int(match.group(3))
    series = SERIES.get(series_name)
    if series is None:
        raise MachineTypeError(f"{name!r}: unknown machine series {series_name!r}")
    baseline = None
    if size.isdigit():
        vcpus = int(size)
    elif series_name == "e2":
        vcpus, baseline = 2, _E2_SHARED[size]
    else:
        raise MachineTypeError(f"{name!r}: shared-core custom sizes exist only for E2")
    if vcpus <= 0 or memory_mb <= 0:
        raise MachineTypeError(f"{name!r}: vCPUs and memory must be positive")
    return MachineShape(
        name=name.strip().lower(),
        series=series_name,
        vcpus=vcpus,
        memory_gib=memory_mb / 1024,
        microarchitecture=series.microarchitecture or None,
        cpu_model=series.cpu_model or None,
        burstable_baseline_fraction=baseline,
        custom=True,
    )


def _shape(
    name: str,
    series_name: str,
    series: Series,
    vcpus: float,
    memory_gib: float,
    gpu_model: str = "",
    gpu_count: int = 0,
    baseline: float | None = None,
) -> MachineShape:
    arch, cpu = _ARCH_OVERRIDES.get(name, (series.microarchitecture, series.cpu_model))
    return MachineShape(
        name=name,
        series=series_name,
        vcpus=vcpus,
        memory_gib=memory_gib,
        microarchitecture=arch or None,
        cpu_model=cpu or None,
        gpu_model=gpu_model or None,
        gpu_count=gpu_count,
        burstable_baseline_fraction=baseline,
    )


def _by_rule(name: str) -> MachineShape | None:
    for series_name, series in SERIES.items():
        if name in series.fixed:
            vcpus, memory_gib, gpu, gpus, baseline = series.fixed[name]
            return _shape(name, series_name, series, vcpus, memory_gib, gpu, gpus, baseline)
    match = _PREDEFINED.fullmatch(name)
    if not match:
        return None
    series_name, shape, vcpus = match.group(1), match.group(2), int(match.group(3))
    found = SERIES.get(series_name)
    if found is None or shape not in found.gb_per_vcpu or vcpus <= 0:
        return None
    series = found
    memory_gib = vcpus * series.gb_per_vcpu[shape]
    if series.floor_memory:
        memory_gib = math.floor(memory_gib)
    return _shape(name, series_name, series, vcpus, memory_gib)


def describe(machine_type: str) -> MachineShape | None:
    """The shape of any predefined or custom type, by Google's naming rules; None if not a GCE name.

    Also accepts the URL form the API returns (`.../zones/us-central1-a/machineTypes/n2-standard-8`).
    """
    name = machine_type.strip().lower().rsplit("/", 1)[-1]
    if "custom-" in name:
        try:
            return parse_custom(name)
        except MachineTypeError:
            return None
    return _by_rule(name)


def predefined_names() -> list[str]:
    """Every predefined type the rules list (listed sizes and irregular types)."""
    names: set[str] = set()
    for series_name, series in SERIES.items():
        names.update(series.fixed)
        for shape, sizes in series.sizes.items():
            names.update(f"{series_name}-{shape}-{n}" for n in sizes)
        for shape, sizes in series.lssd_sizes.items():
            names.update(f"{series_name}-{shape}-{n}-lssd" for n in sizes)
    return sorted(names)


def hardware(machine_type: str) -> Hardware | None:
    """`carbon.model.Hardware` for any predefined or custom name by the rules, GPUs and baseline included."""
    from carbon.model import Hardware
    from carbon.units import gib_to_gb

    shape = describe(machine_type)
    if shape is None:
        return None
    return Hardware(
        vcpus=float(shape.vcpus),
        memory_gb=gib_to_gb(float(shape.memory_gib)),
        microarchitecture=shape.microarchitecture,
        cpu_model=shape.cpu_model,
        gpu_model=shape.gpu_model,
        gpu_count=shape.gpu_count,
        instance_type=shape.name,
        provider="gcp",
        burstable_baseline_fraction=shape.burstable_baseline_fraction,
    )
