"""Which hardware a job ran on: the log's own hint, else the site's partition / feature map.

The map is a small TOML file, because a site knows its partitions and no log says it:

    [partitions.gpu]            # Slurm partition -> hardware
    instance_type = "p3.8xlarge"
    [partitions.cpu]
    cpu_model = "Intel Xeon Gold 6248"
    cpus = 40                   # per node
    threads = 40                # hardware threads per chip of cpu_model (overrides the CPU table)
    memory_gb = 192             # decimal GB
    [features."bigmem"]         # node feature / constraint -> hardware
    instance_type = "r5.4xlarge"

Keys of a table: instance_type, cpu_model, cpus, threads, memory_gb, gpus, gpu_model. A job
naming a cpu_model is charged its own CPU count / threads per chip of the chip's TDP. A log hint
(Slurm Constraints, or the generic `hardware` column) is looked up in [features] first, then
read as an instance type; failing both, the partition's entry; failing that, the job's own CPU
count with the fleet-average power per vCPU (and a wider range).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon.model import Hardware, Location

_KEYS = {
    "instance_type": str,
    "cpu_model": str,
    "cpus": float,
    "threads": float,
    "memory_gb": float,
    "gpus": int,
    "gpu_model": str,
}


@dataclass(frozen=True)
class HardwareSpec:
    instance_type: str | None = None
    cpu_model: str | None = None
    cpus: float | None = None
    threads: float | None = None  # hardware threads per chip of cpu_model
    memory_gb: float | None = None
    gpus: int = 0
    gpu_model: str | None = None


@dataclass(frozen=True)
class HardwareMap:
    partitions: dict[str, HardwareSpec] = field(default_factory=dict)
    features: dict[str, HardwareSpec] = field(default_factory=dict)


def _spec(where: str, values: Any) -> HardwareSpec:
    if not isinstance(values, dict):
        raise ValueError(f"{where}: expected a table of hardware keys")
    unknown = set(values) - set(_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(_KEYS)}")
    try:
        return HardwareSpec(**{k: _KEYS[k](v) for k, v in values.items()})
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None


def load_map(path: str | Path) -> HardwareMap:
    """Read the TOML partition / feature map; a bad entry is a ValueError naming it."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read hardware map {path}: {error}") from None
    unknown = set(data) - {"partitions", "features"}
    if unknown:
        raise ValueError(
            f"{path}: unknown table(s) {', '.join(sorted(unknown))}; use [partitions.NAME] or [features.NAME]"
        )
    return HardwareMap(
        partitions={name: _spec(f"{path} [partitions.{name}]", v) for name, v in data.get("partitions", {}).items()},
        features={name: _spec(f"{path} [features.{name}]", v) for name, v in data.get("features", {}).items()},
    )


def _from_spec(spec: HardwareSpec, location: Location) -> Hardware | None:
    from carbon.pricing import EstimateError, resolve_hardware

    try:
        hardware, _ = resolve_hardware(
            location,
            instance_type=spec.instance_type,
            cpus=spec.cpus,
            cpu_model=spec.cpu_model,
            memory_gb=spec.memory_gb,
            gpus=spec.gpus,
            gpu_model=spec.gpu_model,
            threads_per_chip=spec.threads,
        )
    except EstimateError:
        return None
    return hardware


def resolve(
    hint: str | None, partition: str | None, location: Location, hardware_map: HardwareMap
) -> tuple[Hardware | None, str]:
    """(hardware, how it was found: "map", "catalog" or "" when unknown) for one distinct job kind."""
    if hint and hint in hardware_map.features:
        found = _from_spec(hardware_map.features[hint], location)
        if found is not None:
            return found, "map"
    if hint:
        found = _from_spec(HardwareSpec(instance_type=hint), location)
        if found is not None:
            return found, "catalog"
    if partition and partition in hardware_map.partitions:
        found = _from_spec(hardware_map.partitions[partition], location)
        if found is not None:
            return found, "map"
    return None, ""
