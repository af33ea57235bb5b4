"""NVIDIA GPU energy through NVML (the `nvidia-ml-py` package, imported only when GPUs are metered).

Per GPU, the best the driver offers:
- Volta and newer: the total-energy counter (`nvmlDeviceGetTotalEnergyConsumption`, mJ since the
  driver loaded), differenced between reads: exact, and no sampling error.
- Older GPUs: board power (`nvmlDeviceGetPowerUsage`, mW) integrated over time (trapezoids between
  polls, so `poll_s` is short for them).
A GPU in MIG mode is metered whole: the counter covers every MIG instance on it, which is noted.
An NVML error on one GPU mid-run does not stop the run: that GPU is degraded to the power model
(at its last known utilisation, else the idle..TDP range), flagged in the method and the notes.

Selection: `gpu_ids` is a CUDA_VISIBLE_DEVICES-style list ("0,2" or GPU UUIDs); default all GPUs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from carbon.meters.base import Measurement, MeterError, NullMeter
from carbon.model import Bounds

METHOD = "measured:nvml"
DEGRADED_METHOD = "modelled"
POWER_POLL_S = 1.0  # NVML's power reading is itself a ~1 s average: sampling faster adds nothing
# One GPU's modelled power at a utilisation (None: unknown), used when its NVML readings fail.
GpuModel = Callable[[float | None], Bounds]


@dataclass
class Gpu:
    """One GPU as the meter follows it: its handle, how its energy is read, and what was read
    last (mutable: the meter updates it at every poll)."""

    index: int
    handle: Any
    name: str
    uses_counter: bool
    previous_mj: int | None = None
    previous_power: tuple[float, float] | None = None  # (monotonic time, watts)
    accumulated_j: float = 0.0
    degraded_since: float | None = None  # monotonic time of the failure
    degraded_j: Bounds = field(default_factory=lambda: Bounds.exact(0.0))
    last_util: float | None = None
    last_taken_j: float = 0.0  # measured energy of the latest take, for attribution


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def driver_present() -> bool:
    """The NVIDIA kernel driver is loaded: checked before importing NVML, which costs tens of ms for nothing."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def parse_gpu_ids(text: str | Sequence[str] | None) -> list[str] | None:
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    return [p.strip() for p in parts if p.strip()]


class NvmlMeter:
    """Measured GPU energy, per GPU by counter or by integrated power."""

    name = "nvml"
    components = ("gpu",)

    def __init__(
        self,
        nvml: Any,
        gpus: list[Gpu],
        notes: list[str],
        model: GpuModel | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nvml = nvml
        self.gpus = gpus
        self.model = model
        self.clock = clock
        self._notes = list(notes)
        self.poll_s = POWER_POLL_S if any(not g.uses_counter for g in gpus) else float("inf")
        self.poll()

    def available(self) -> bool:
        return True

    def set_model(self, model: GpuModel) -> None:
        """The per-GPU power model used for GPUs that fail mid-run (known once the hardware is resolved)."""
        self.model = model

    def _degrade(self, gpu: Gpu, error: Exception, now: float) -> None:
        gpu.degraded_since = now
        self._notes.append(
            f"GPU {gpu.index} ({gpu.name}): NVML failed mid-run ({error}); its energy from now on is "
            "modelled from the GPU's power figures, not measured"
        )

    def _poll_one(self, gpu: Gpu, now: float) -> None:
        nvml = self.nvml
        try:
            gpu.last_util = nvml.nvmlDeviceGetUtilizationRates(gpu.handle).gpu / 100.0
        except nvml.NVMLError:
            pass  # utilisation is only needed if the energy reading fails too
        if gpu.uses_counter:
            current = int(nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
            if gpu.previous_mj is not None:
                gpu.accumulated_j += max(0, current - gpu.previous_mj) / 1000.0
            gpu.previous_mj = current
        else:
            watts = nvml.nvmlDeviceGetPowerUsage(gpu.handle) / 1000.0
            if gpu.previous_power is not None:
                then, before = gpu.previous_power
                gpu.accumulated_j += (now - then) * (before + watts) / 2.0
            gpu.previous_power = (now, watts)

    def poll(self) -> None:
        now = self.clock()
        for gpu in self.gpus:
            if gpu.degraded_since is not None:
                continue
            try:
                self._poll_one(gpu, now)
            except self.nvml.NVMLError as error:
                self._degrade(gpu, error, now)

    def _model_since(self, gpu: Gpu, now: float) -> Bounds:
        if gpu.degraded_since is None or self.model is None:
            return Bounds.exact(0.0)
        energy = self.model(gpu.last_util).scale(max(0.0, now - gpu.degraded_since))
        gpu.degraded_since = now
        return energy

    def take(self) -> list[Measurement]:
        self.poll()
        now = self.clock()
        measured, modelled, degraded = 0.0, Bounds.exact(0.0), []
        for gpu in self.gpus:
            gpu.last_taken_j, gpu.accumulated_j = gpu.accumulated_j, 0.0
            measured += gpu.last_taken_j
            if gpu.degraded_since is not None:
                degraded.append(gpu.index)
                modelled = modelled + self._model_since(gpu, now)
        result = []
        if len(degraded) < len(self.gpus) or measured:
            result.append(
                Measurement(
                    "gpu",
                    Bounds.exact(measured),
                    METHOD,
                    ", ".join(f"gpu{g.index}" for g in self.gpus if g.index not in degraded),
                )
            )
        if degraded:
            result.append(
                Measurement(
                    "gpu",
                    modelled,
                    DEGRADED_METHOD,
                    "NVML error: " + ", ".join(f"gpu{i}" for i in degraded) + " modelled",
                )
            )
        return result

    def process_shares(self, pids: set[int]) -> dict[int, float]:
        """Per GPU, the share of its use that belongs to `pids`: by SM utilisation samples where the
        driver gives them, else by the count of compute processes. Attribution, not measurement."""
        nvml = self.nvml
        shares: dict[int, float] = {}
        for gpu in self.gpus:
            try:
                samples = nvml.nvmlDeviceGetProcessUtilization(gpu.handle, 0)
                total = sum(s.smUtil for s in samples)
                if total > 0:
                    shares[gpu.index] = sum(s.smUtil for s in samples if s.pid in pids) / total
                    continue
            except nvml.NVMLError:
                pass
            try:
                running = [p.pid for p in nvml.nvmlDeviceGetComputeRunningProcesses(gpu.handle)]
            except nvml.NVMLError:
                running = []
            shares[gpu.index] = (sum(1 for pid in running if pid in pids) / len(running)) if running else 0.0
        return shares

    def notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    def close(self) -> None:
        with contextlib.suppress(self.nvml.NVMLError):  # a driver already gone: nothing left to release
            self.nvml.nvmlShutdown()


def _select(nvml: Any, count: int, wanted: list[str] | None) -> list[tuple[int, Any]]:
    handles = [(i, nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
    if wanted is None:
        return handles
    chosen = []
    for item in wanted:
        if item.isdigit():
            index = int(item)
            if index >= count:
                raise MeterError(f"GPU index {index} asked for, but NVML sees {count} GPU(s) (0..{count - 1})")
            chosen.append(handles[index])
        else:
            match = [(i, h) for i, h in handles if _text(nvml.nvmlDeviceGetUUID(h)).startswith(item)]
            if not match:
                raise MeterError(f"no GPU with UUID {item!r}")
            chosen.append(match[0])
    return chosen


def open_nvml(
    gpu_ids: str | Sequence[str] | None = None,
    nvml: Any = None,
    model: GpuModel | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> NvmlMeter | NullMeter:
    """The NVML meter, or a null meter when the library, the driver or any GPU is missing."""
    if nvml is None and "pynvml" not in sys.modules and not driver_present():
        return NullMeter("nvml", "no NVIDIA driver on this machine")
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[no-redef]  # the module stands in for the injected one
        except ImportError:
            return NullMeter("nvml", "nvidia-ml-py is not installed (pip install 'carbon-ledger[gpu]')")
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        return NullMeter("nvml", f"NVML not available ({error})")
    try:
        count = nvml.nvmlDeviceGetCount()
        if count == 0:
            nvml.nvmlShutdown()
            return NullMeter("nvml", "NVML sees no GPU")
        gpus, notes = [], []
        for index, handle in _select(nvml, count, parse_gpu_ids(gpu_ids)):
            name = _text(nvml.nvmlDeviceGetName(handle))
            try:
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                uses_counter = True
            except nvml.NVMLError:
                uses_counter = False  # pre-Volta: integrate the power readings
                notes.append(
                    f"GPU {index} ({name}) has no energy counter (older than Volta): its energy is "
                    "integrated from power readings"
                )
            try:
                if nvml.nvmlDeviceGetMigMode(handle)[0] == getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1):
                    notes.append(
                        f"GPU {index} ({name}) is in MIG mode: its energy is the whole GPU's, shared by "
                        "every MIG instance on it"
                    )
            except nvml.NVMLError:
                pass  # no MIG support on this GPU
            gpus.append(Gpu(index, handle, name, uses_counter))
    except nvml.NVMLError as error:
        return NullMeter("nvml", f"NVML failed while listing GPUs ({error})")
    return NvmlMeter(nvml, gpus, notes, model, clock)
