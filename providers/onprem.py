"""The machine itself, when no cloud claims it: CPU from /proc, GPUs from NVML, region from the user.

No subprocess, no network unless the user opts in to a geo-IP lookup (`CARBON_GEOIP=true`),
which prints what it found so that the guess is visible. `CARBON_PROC_ROOT` points at a fake
/proc for tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from carbon.providers.base import Deadline, Detection, HardwareMatch

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Hardware, Location

DEFAULT_GEOIP_URL = "https://ipapi.co/json/"
GEOIP_TIMEOUT_S = 2.0


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


def geoip_region(url: str, deadline: Deadline) -> tuple[str | None, str]:
    """(region code, what was found) from a geo-IP service answering ipapi.co-style JSON."""
    # Imported here: the HTTP client (socket, ~5 ms) is for this opt-in lookup only, and every
    # tracker start reads this machine's hardware from this module.
    from carbon.providers.http import MetadataError, request

    try:
        answer = request("GET", url, deadline=deadline, headers={"Accept": "application/json"})
        document = answer.json() if answer.status == 200 else None
    except MetadataError as error:
        return None, f"geoip: {url} failed ({type(error).__name__})"
    if not isinstance(document, dict):
        return None, f"geoip: {url} gave no usable answer"
    country = str(document.get("country_code") or document.get("country") or "").upper()
    subdivision = str(document.get("region_code") or "").upper()
    if len(country) != 2 or not country.isalpha():
        return None, f"geoip: {url} gave no country"
    from carbon.regions import UnknownRegion, resolve

    for code in ((f"{country}-{subdivision}",) if subdivision else ()) + (country,):
        try:
            resolve(code)
        except UnknownRegion:
            continue
        return code, f"geoip: {url} says {code}"
    return None, f"geoip: {url} says {country}, which has no grid data"


class OnPremProvider:
    name = "onprem"

    def claims(self, facts: HostFacts) -> bool | None:
        return False  # asked only as the fallback, never in place of a cloud

    def uses_network(self, facts: HostFacts) -> bool:
        """True when `detect` would make the opt-in geo-IP call (no region set, CARBON_GEOIP on)."""
        from carbon.config import load

        config = load(environ=facts.environ)
        return bool(config.geoip and not config.region)

    def detect(self, deadline: Deadline, facts: HostFacts, region: str | None = None) -> Detection | None:
        from carbon.config import load

        config = load({"region": region}, environ=facts.environ)
        evidence: list[str] = []
        warnings: list[str] = []
        region = config.region
        if region:
            evidence.append(f"region: {region} ({config.origins.get('region', 'default')})")
        elif config.geoip:
            url = facts.environ.get("CARBON_GEOIP_URL") or DEFAULT_GEOIP_URL
            region, note = geoip_region(url, Deadline.after(GEOIP_TIMEOUT_S))
            evidence.append(note)
            logger.info("%s", note)
        else:
            warnings.append(
                "no region: set CARBON_REGION (or region in carbon.toml, or --region); "
                "geo-IP lookup is opt-in with CARBON_GEOIP=true"
            )
        hardware, hardware_evidence = local_hardware(facts.environ)
        return Detection(
            None,
            None,
            region,
            None,
            (*evidence, *hardware_evidence),
            service="onprem",
            reported_hardware=hardware,
            source=self.name,
            warnings=tuple(warnings),
        )

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        hardware, _ = local_hardware()
        return HardwareMatch(hardware, "local")

    def location(self, region: str) -> Location:
        from carbon.regions import resolve

        return resolve(region)
