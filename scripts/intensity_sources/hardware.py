"""CPU and GPU power tables, and SPECpower-derived W per vCPU by microarchitecture.

CPUs: CodeCarbon's TDP table plus Green Algorithms' (which also gives core counts), one row per
`cpu_key`; a key present in both takes the Green Algorithms row (TDP and cores from one source),
ties within a source go to the alphabetically first spelling. Microarchitecture names are CCF's,
assigned when a CCF model list (data/intel-*.csv, amd-*.csv) names the part.
GPUs: mlco2/impact's table with its known errors corrected, plus Green Algorithms'; idle power is
TDP times the idle fraction measured from the Teads EC2 dataset (GPU watts at idle / at 100 %).
"""

from __future__ import annotations

import re
import statistics
from decimal import Decimal
from pathlib import Path

from carbon.hardware_names import cpu_key, gpu_key

from .rawcsv import RawDataError, fmt, read_csv, read_text
from .table import Table

CCF = "cloud-carbon-footprint/ccf-coefficients"
CODECARBON = "codecarbon/codecarbon/codecarbon/data/hardware/cpu_power.csv"
GA = "green-algorithms/green-algorithms-tool/data/latest"
MLCO2_GPUS = "mlco2-impact/data/gpus.csv"
TEADS = "teads-ec2/valohai-wattson/data/aws_instances_dataset.csv"
ALIASES = Path(__file__).resolve().parent.parent / "gpu_aliases.csv"
PROVIDERS = ("aws", "gcp", "azure")

# CCF model-list file -> CCF architecture name (the names of output/coefficients-*-use.csv).
MODEL_LISTS = {
    "intel-sandybridge": "Sandy Bridge",
    "intel-ivybridge": "Ivy Bridge",
    "intel-haswell": "Haswell",
    "intel-broadwell": "Broadwell",
    "intel-skylake": "Skylake",
    "intel-skylake-server": "Skylake",
    "intel-skylake-client": "Skylake",
    "intel-coffeelake": "Coffee Lake",
    "intel-cascadelake": "Cascade Lake",
    "intel-icelake": "Ice Lake",
    "intel-sapphirerapids": "Sapphire Rapids",
    "intel-emeraldrapids": "Emerald Rapids",
    "intel-graniterapids": "Granite Rapids",
    "amd-epyc-gen1": "EPYC 1st Gen",
    "amd-epyc-gen2": "EPYC 2nd Gen",
    "amd-epyc-gen3": "EPYC 3rd Gen",
    "amd-epyc-gen4": "EPYC 4th Gen",
    "amd-epyc-gen5": "EPYC 5th Gen",
}

# Old Celeron rows whose TDP range ("27.2-29.5 W") lost its dash upstream; any other bad value is an error.
CODECARBON_MANGLED_TDP = {"27.29.5", "29.32.9", "33.34.8"}

# mlco2/impact gpus.csv errors listed in its PROVENANCE: name -> replacement rows (model, tdp_w, memory_gb).
GPU_FIXES = {
    "GTX 750": (("GTX 750", "55", "1"),),  # techpowerup: 55 W, 1 GB (the row said 250 W / 24 GB)
    "A100 PCIe 40/80GB": (("A100 PCIe 40GB", "250", "40"), ("A100 PCIe 80GB", "300", "80")),
    "Tesla V100-SXM2-16GB": (("Tesla V100-SXM2-16GB", "300", "16"),),  # NVIDIA spec 300 W
    "A10G": (("A10G", "150", "24"),),  # the row lacks one field upstream, shifting memory into the source URL
}


def microarchitectures(raw: Path) -> Table:
    rows, origin = [], []
    values: dict[str, list[tuple[Decimal, Decimal, Decimal]]] = {}
    for provider in PROVIDERS:
        file = f"{CCF}/output/coefficients-{provider}-use.csv"
        for row in read_csv(raw / file, ("Architecture", "Min Watts", "Max Watts", "GB/Chip"), label=file):
            low, high, gb = row.number("Min Watts"), row.number("Max Watts"), row.number("GB/Chip")
            if not 0 < low <= high:
                raise RawDataError(row.file, row.line, "Max Watts", f"min {low} / max {high} W per vCPU out of order")
            rows.append((provider, row.get("Architecture"), fmt(low), fmt(high), fmt(gb), "ccf-coefficients"))
            origin.append((row.file, row.line))
            values.setdefault(row.get("Architecture"), []).append((low, high, gb))
    for architecture, triples in values.items():
        mean = [sum(t[i] for t in triples) / len(triples) for i in range(3)]
        rows.append(("any", architecture, fmt(mean[0], 6), fmt(mean[1], 6), fmt(mean[2], 6), "ccf-coefficients"))
        origin.append(("(mean of the provider rows)", 0))
    return Table(
        "microarchitectures",
        tuple(rows),
        "Min (idle) and max W per vCPU and GB of memory per chip by "
        "CPU microarchitecture, per provider's CCF table; 'any' = mean over the provider tables",
        ("ccf-coefficients",),
        {"min_w_per_vcpu": "W per vCPU (hardware thread)", "max_w_per_vcpu": "W per vCPU", "gb_per_chip": "GB"},
        tuple(origin),
    )


def _architecture_index(raw: Path) -> dict[tuple[str, ...], str]:
    index: dict[tuple[str, ...], str] = {}
    for name, architecture in MODEL_LISTS.items():
        file = f"{CCF}/data/{name}.csv"
        for line in read_text(raw / file).splitlines():
            tokens = tuple(cpu_key(line).split())
            if tokens:
                index.setdefault(tokens, architecture)
    return index


def _architecture(key: str, index: dict[tuple[str, ...], str]) -> str:
    tokens = tuple(key.split())
    for start in range(len(tokens)):
        found = index.get(tokens[start:])
        if found:
            return found
    return ""


def cpus(raw: Path) -> Table:
    index = _architecture_index(raw)
    chosen: dict[str, tuple[tuple[str, ...], tuple[str, int]]] = {}
    for row in read_csv(
        raw / f"{GA}/TDP_cpu.csv", ("model", "TDP", "n_cores"), label=f"{GA}/TDP_cpu.csv", skip_lines=1
    ):
        model = row.get("model")
        tdp = row.number("TDP", required=False)
        if model == "Any" or tdp is None:
            continue
        cores = row.number("n_cores", required=False)
        key = cpu_key(model)
        candidate = (
            (model, key, fmt(tdp), fmt(cores), "", _architecture(key, index), "green-algorithms"),
            (row.file, row.line),
        )
        if key not in chosen or model < chosen[key][0][0]:
            chosen[key] = candidate
    from_ga = set(chosen)
    for row in read_csv(raw / CODECARBON, ("Name", "TDP"), label=CODECARBON):
        if row.get("TDP") in CODECARBON_MANGLED_TDP:
            continue
        model = row.get("Name")
        tdp = row.number("TDP", required=False)
        key = cpu_key(model)
        if tdp is None or tdp <= 0 or not key or key in from_ga:
            continue
        candidate = ((model, key, fmt(tdp), "", "", _architecture(key, index), "codecarbon-cpu"), (row.file, row.line))
        if key not in chosen or model < chosen[key][0][0]:
            chosen[key] = candidate
    rows = tuple(v[0] for v in chosen.values())
    return Table(
        "cpus",
        rows,
        "CPU thermal design power per chip (and cores where known) by model, keyed by "
        "carbon.hardware_names.cpu_key; microarchitecture from CCF's model lists",
        ("codecarbon-cpu", "green-algorithms", "ccf-coefficients"),
        {"tdp_w": "W per chip"},
        tuple(v[1] for v in chosen.values()),
    )


def gpu_idle_fraction(raw: Path) -> tuple[Decimal, Decimal, Decimal]:
    """Median, min and max of GPU watts at idle over GPU watts at 100 % across Teads' GPU instances."""
    ratios = []
    for row in read_csv(raw / TEADS, ("Instance type", "GPUWatt @ Idle", "GPUWatt @ 100%"), label=TEADS):
        idle = row.number("GPUWatt @ Idle", required=False, decimal_comma=True)
        full = row.number("GPUWatt @ 100%", required=False, decimal_comma=True)
        if idle is not None and full:
            ratios.append(idle / full)
    if not ratios:
        raise RawDataError(TEADS, None, "GPUWatt @ 100%", "no GPU instance rows")
    return statistics.median(ratios), min(ratios), max(ratios)


def _aliases(chosen: dict, idle_fraction: Decimal) -> None:
    """Boards under the names NVML reports (scripts/gpu_aliases.csv): either the same part as a row
    of the raw tables (its TDP and source), or a datasheet figure cited in the alias file."""
    for row in read_csv(
        ALIASES, ("model", "same_as", "tdp_w", "memory_gb", "source", "note"), label="scripts/gpu_aliases.csv"
    ):
        key = gpu_key(row.get("model"))
        if key in chosen:
            raise row.error("model", f"{row.get('model')!r} is already in the GPU tables")
        memory = row.number("memory_gb", required=False)
        if row.get("same_as"):
            target = chosen.get(gpu_key(row.get("same_as")))
            if target is None:
                raise row.error("same_as", f"{row.get('same_as')!r} is not in the GPU tables")
            tdp, source = Decimal(target[0][2]), target[0][5]
        else:
            tdp, source = row.number("tdp_w"), row.get("source")
        chosen[key] = (
            (row.get("model"), key, fmt(tdp), fmt(tdp * idle_fraction, 1), fmt(memory), source),
            (row.file, row.line),
        )


def gpus(raw: Path) -> Table:
    idle_fraction = gpu_idle_fraction(raw)[0]
    chosen: dict[str, tuple[tuple[str, ...], tuple[str, int]]] = {}

    def offer(model: str, tdp: Decimal, memory: Decimal | None, source: str, where: tuple[str, int]) -> None:
        model = re.sub(r"(\d)\s+GB\b", r"\1GB", model.strip())  # "A100 SXM4 80GB" as NVML spells it: "80GB"
        key = gpu_key(model)
        if key and key not in chosen:
            chosen[key] = ((model, key, fmt(tdp), fmt(tdp * idle_fraction, 1), fmt(memory), source), where)

    for row in read_csv(raw / MLCO2_GPUS, ("name", "type", "tdp_watts", "memory"), label=MLCO2_GPUS, allow_short=True):
        if row.get("type") not in ("gpu", "tpu"):
            continue
        fixes = GPU_FIXES.get(row.get("name"))
        if fixes:
            for model, tdp, memory in fixes:
                offer(model, Decimal(tdp), Decimal(memory), "mlco2-impact", (row.file, row.line))
            continue
        if not row.complete:
            raise row.error(None, f"row has {len(row.values)} fields, the header has {row.width} (truncated?)")
        offer(
            row.get("name"),
            row.number("tdp_watts"),
            row.number("memory", required=False),
            "mlco2-impact",
            (row.file, row.line),
        )
    for row in read_csv(raw / f"{GA}/TDP_gpu.csv", ("model", "TDP"), label=f"{GA}/TDP_gpu.csv", skip_lines=1):
        tdp = row.number("TDP", required=False)
        if row.get("model") == "Any" or tdp is None:
            continue
        offer(row.get("model"), tdp, row.number("memory", required=False), "green-algorithms", (row.file, row.line))
    _aliases(chosen, idle_fraction)
    return Table(
        "gpus",
        tuple(v[0] for v in chosen.values()),
        "GPU/TPU board power (TDP) by model, keyed by carbon.hardware_names.gpu_key; idle_w = TDP x "
        f"{fmt(idle_fraction, 4)} (median GPU idle/full-load ratio in the Teads EC2 dataset); mlco2 fixes: "
        "GTX 750 55 W, A100 PCIe 80GB 300 W (split from 40GB 250 W), V100-SXM2-16GB 300 W",
        ("mlco2-impact", "green-algorithms", "teads-ec2", "nvidia-datasheets"),
        {"tdp_w": "W", "idle_w": "W", "memory_gb": "GB"},
        tuple(v[1] for v in chosen.values()),
    )
