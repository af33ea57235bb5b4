"""This machine's hardware: CPU model and threads from /proc/cpuinfo, memory from /proc/meminfo,
NVIDIA GPUs through NVML. No subprocess, no network.

Apart from the on-premises provider so that the tracker, which reads the hardware of every
machine it starts on, does not import the provider machinery (registry, detection) with it.
`CARBON_PROC_ROOT` points at a fake /proc for tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from carbon.model import Hardware


def proc_root(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("CARBON_PROC_ROOT") or "/proc")


def parse_cpuinfo(text: str) -> tuple[str | None, int | None, int]:
    """(CPU model, physical cores, hardware threads) from /proc/cpuinfo text.

    Cores are distinct (physical id, core id) pairs; kernels that omit those (many ARM boards,
    some VMs) leave cores unknown rather than guessed.
    """
    model: str | None = None
    threads = 0
    cores: set[tuple[str, str]] = set()
    physical = core = None
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields.setdefault(key.strip().lower(), value.strip())
        if "processor" not in fields:
            model = model or fields.get("hardware") or fields.get("model name")
            continue
        threads += 1
        model = model or fields.get("model name") or fields.get("cpu model") or fields.get("hardware")
        physical, core = fields.get("physical id"), fields.get("core id")
        if physical is not None and core is not None:
            cores.add((physical, core))
    return model, (len(cores) or None), threads


def parse_meminfo_gb(text: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024 / 1e9 if parts[-1] == "kB" else None
    return None


def nvidia_gpus() -> tuple[str | None, int, str]:
    """(first GPU's name, count, note) through NVML, opened as the tracker's GPU meter opens it;
    no library, no driver or no GPU -> (None, 0, why)."""
    from carbon.meters.base import NullMeter
    from carbon.meters.nvml import open_nvml

    meter = open_nvml()
    if isinstance(meter, NullMeter):
        return None, 0, f"nvml: {meter.reason}"
    try:
        return meter.gpus[0].name, len(meter.gpus), f"nvml: {len(meter.gpus)} GPU(s)"
    finally:
        meter.close()


def local_hardware(environ: Mapping[str, str] | None = None) -> tuple[Hardware, tuple[str, ...]]:
    """This machine's CPU, memory and NVIDIA GPUs, with the evidence for each."""
    from carbon.model import Hardware

    root = proc_root(environ)
    evidence: list[str] = []
    try:
        model, cores, threads = parse_cpuinfo((root / "cpuinfo").read_text(encoding="utf-8", errors="replace"))
        evidence.append(f"cpu: {root / 'cpuinfo'}: {model or 'model unknown'}, {threads} threads, {cores or '?'} cores")
    except OSError:
        model, cores, threads = None, None, os.cpu_count() or 0
        evidence.append(f"cpu: {root / 'cpuinfo'} unreadable; {threads} CPUs from the OS")
    try:
        memory_gb = parse_meminfo_gb((root / "meminfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        memory_gb = None
    evidence.append(f"memory: {memory_gb:.1f} GB" if memory_gb else "memory: unknown")
    gpu_model, gpu_count, note = nvidia_gpus()
    evidence.append(note)
    hardware = Hardware(
        vcpus=float(threads) if threads else None,
        cpu_model=model,
        cpu_cores=cores,
        memory_gb=memory_gb,
        gpu_model=gpu_model,
        gpu_count=gpu_count,
    )
    return hardware, tuple(evidence)
