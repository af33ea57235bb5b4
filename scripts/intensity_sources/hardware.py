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

from carbon.hardware_names import cores_in_name, cpu_key, gpu_key, threads_per_core

from . import specpower
from .rawcsv import RawDataError, fmt, read_csv, read_text
from .table import Table

CCF = "cloud-carbon-footprint/ccf-coefficients"
CODECARBON = "codecarbon/codecarbon/codecarbon/data/hardware/cpu_power.csv"
GA = "green-algorithms/green-algorithms-tool/data/latest"
MLCO2_GPUS = "mlco2-impact/data/gpus.csv"
TEADS = "teads-ec2/valohai-wattson/data/aws_instances_dataset.csv"
ALIASES = Path(__file__).resolve().parent.parent / "gpu_aliases.csv"
# Boards that carry more than one GPU (NVIDIA datasheets): NVML and the clouds count GPUs, the TDP
# tables give the board, so the table's tdp_w is per GPU = board TDP / GPUs on the board.
GPUS_PER_BOARD = {"k80": 2, "m60": 2, "grid k520": 2, "m10": 4, "k10": 2, "grid k1": 4, "grid k2": 2}

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
    """Per-thread idle and full-load watts by microarchitecture, derived from the SPECpower runs with
    CCF's method (see specpower.py), checked against CCF's published table."""
    published = specpower.published(raw)
    rows, origin, notes = [], [], []
    for c in specpower.coefficients(raw):
        ccf = published.get(c.architecture)
        disagreement = specpower.compare(c, ccf)
        if disagreement:
            notes.append(disagreement)
        rows.append(
            (
                c.architecture,
                fmt(c.idle[0], 4),
                fmt(c.idle[1], 4),
                fmt(c.idle[2], 4),
                fmt(c.full[0], 4),
                fmt(c.full[1], 4),
                fmt(c.full[2], 4),
                fmt(c.gb_per_chip, 1),
                str(c.runs),
                fmt(ccf[0], 4) if ccf else "",
                fmt(ccf[1], 4) if ccf else "",
                c.method,
                c.note,
                "specpower",
            )
        )
        origin.append((specpower.SPEC_FILE, 0))
    if any("EPYC 5th Gen" in n for n in notes):
        notes.append(
            "EPYC 5th Gen: CCF's figure is near the mean of all 1,088 runs of the snapshot (3.55/8.72 W per "
            "thread); its model list data/amd-epyc-gen5.csv ends in 49 blank lines, an empty model that "
            "matches every run"
        )
    return Table(
        "microarchitectures",
        tuple(rows),
        "Idle and full-load W per hardware thread (= vCPU) by CPU microarchitecture: mean over the SPECpower "
        "runs of CCF's model lists (CCF's method), range the 10th-90th percentile of the runs; Arm chips "
        "without runs take a named proxy with a wider range; ccf_* = CCF's published AWS table for comparison",
        ("specpower", "ccf-coefficients"),
        {
            "min_w_per_thread": "W per hardware thread at active idle",
            "max_w_per_thread": "W per hardware thread at 100 % load",
            "gb_per_chip": "GB (SPECpower Total Memory / Chips)",
        },
        tuple(origin),
        notes=tuple(notes),
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


def _counts(model: str, key: str, cores: Decimal | None, spec: dict[str, tuple[int, int, int]]) -> tuple[str, str, str]:
    """(cores per chip, threads per chip, where from): SPECpower runs, else the source's cores times
    the vendor's threads per core, else cores spelled in the name (carbon.hardware_names rules)."""
    found = spec.get(key)
    if found:
        return str(found[0]), str(found[1]), f"specpower ({found[2]} runs)"
    smt = threads_per_core(key)
    rule = f" x {smt} threads per core (vendor rule)" if smt else ""
    if cores:
        return fmt(cores), fmt(cores * smt) if smt else "", "green-algorithms cores" + rule
    spelled = cores_in_name(model)
    if spelled:
        return str(spelled), str(spelled * smt) if smt else "", "cores in the model name" + rule
    return "", "", ""


def cpus(raw: Path) -> Table:
    index = _architecture_index(raw)
    spec = specpower.chip_counts(specpower.runs(raw))
    # SPECpower spells AMD parts "AMD EPYC 7552" where Green Algorithms writes "AMD 7552": one form.
    spec.update({key.replace("amd epyc ", "amd "): value for key, value in spec.items() if key.startswith("amd epyc ")})
    chosen: dict[str, tuple[tuple[str, ...], tuple[str, int]]] = {}
    for row in read_csv(
        raw / f"{GA}/TDP_cpu.csv", ("model", "TDP", "n_cores"), label=f"{GA}/TDP_cpu.csv", skip_lines=1
    ):
        model = row.get("model")
        tdp = row.number("TDP", required=False)
        if model == "Any" or tdp is None:
            continue
        key = cpu_key(model)
        cores, threads, counted = _counts(model, key, row.number("n_cores", required=False), spec)
        candidate = (
            (model, key, fmt(tdp), cores, threads, counted, _architecture(key, index), "green-algorithms"),
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
        cores, threads, counted = _counts(model, key, None, spec)
        candidate = (
            (model, key, fmt(tdp), cores, threads, counted, _architecture(key, index), "codecarbon-cpu"),
            (row.file, row.line),
        )
        if key not in chosen or model < chosen[key][0][0]:
            chosen[key] = candidate
    rows = tuple(v[0] for v in chosen.values())
    return Table(
        "cpus",
        rows,
        "CPU thermal design power per chip, cores and hardware threads per chip by model, keyed by "
        "carbon.hardware_names.cpu_key; counts from SPECpower runs, else Green Algorithms' cores x the "
        "vendor's threads per core, else cores spelled in the name (counts_source says which); "
        "microarchitecture from CCF's model lists",
        ("codecarbon-cpu", "green-algorithms", "ccf-coefficients", "specpower"),
        {"tdp_w": "W per chip", "cores": "per chip", "threads": "hardware threads per chip"},
        tuple(v[1] for v in chosen.values()),
    )


def tdp_per_thread(table: Table) -> tuple[Decimal, Decimal, Decimal]:
    """Median, 10th and 90th percentile of TDP per hardware thread over the CPU rows with a thread count:
    the fallback when a named CPU's thread count is unknown."""
    columns = table.columns
    tdp_at, threads_at = columns.index("tdp_w"), columns.index("threads")
    values = sorted(Decimal(r[tdp_at]) / Decimal(r[threads_at]) for r in table.rows if r[threads_at])
    if not values:
        raise RawDataError("cpus.csv", None, "threads", "no CPU row has a thread count")
    return (
        statistics.median(values),
        values[int(len(values) * 0.1)],
        values[min(len(values) - 1, int(len(values) * 0.9))],
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


def gpu_tdp_spread(raw: Path) -> tuple[Decimal, Decimal]:
    """10th and 90th percentile of board TDP over the GPU table: the unknown GPU's range."""
    column = gpus(raw).columns.index("tdp_w")
    values = sorted(Decimal(row[column]) for row in gpus(raw).rows)
    return values[int(len(values) * 0.1)], values[min(len(values) - 1, int(len(values) * 0.9))]


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
    rows = []
    for key, (row, _) in chosen.items():
        per_board = GPUS_PER_BOARD.get(key, 1)
        tdp = Decimal(row[2]) / per_board
        rows.append((row[0], key, fmt(tdp, 1), fmt(tdp * idle_fraction, 1), row[4], str(per_board), row[2], row[5]))
    return Table(
        "gpus",
        tuple(rows),
        "GPU/TPU board power (TDP) by model, keyed by carbon.hardware_names.gpu_key; idle_w = TDP x "
        f"{fmt(idle_fraction, 4)} (median GPU idle/full-load ratio in the Teads EC2 dataset); mlco2 fixes: "
        "GTX 750 55 W, A100 PCIe 80GB 300 W (split from 40GB 250 W), V100-SXM2-16GB 300 W; multi-GPU boards "
        "(K80, M60, K520, ...): tdp_w per GPU = board_tdp_w / gpus_per_board",
        (
            "mlco2-impact",
            "green-algorithms",
            "teads-ec2",
            "nvidia-datasheets",
            "habana-datasheets",
            "qualcomm-datasheets",
        ),
        {"tdp_w": "W per GPU", "idle_w": "W per GPU", "board_tdp_w": "W per board", "memory_gb": "GB per board"},
        tuple(v[1] for v in chosen.values()),
    )
