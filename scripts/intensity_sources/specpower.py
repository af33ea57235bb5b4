"""SPECpower_ssj2008 runs: per-thread idle and full-load watts by microarchitecture, and chip sizes.

Cloud Carbon Footprint's method (ccf-coefficients, `ccfcoef`): a run belongs to a family when its
`CPU Description` ends with a model string of the family's list (`data/intel-*.csv`,
`amd-*.csv`); the family's idle coefficient is the mean over its runs of
`avg. watts @ active idle / Total Threads`, its full-load one the mean of
`avg. watts @ 100% / Total Threads` (W per hardware thread = per vCPU), and GB per chip the mean of
`Total Memory (GB) / Chips`. Applied to the 2026-03-09 snapshot this reproduces CCF's published
EPYC 1st-4th Gen, Sandy/Ivy Bridge, Haswell, Cascade Lake, Ice Lake, Coffee Lake and Granite
Rapids figures to every printed digit; where it does not, the derived figure is used and the
difference is recorded in the manifest (see `compare`).

Arm server chips other than Ampere Altra have no SPECpower runs: they take a documented proxy
(the Neoverse N1 runs) with a wider range.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from carbon.hardware_names import cpu_key

from .rawcsv import RawDataError, fmt, read_csv, read_text

CCF = "cloud-carbon-footprint/ccf-coefficients"
SPEC_FILE = f"{CCF}/data/SPECpower-2026-03-09.csv"
IDLE, FULL = "avg. watts @ active idle", "avg. watts @ 100%"

# Architecture name (the catalogs' spelling) -> CCF model-list files whose runs it pools.
FAMILIES: dict[str, tuple[str, ...]] = {
    "Sandy Bridge": ("intel-sandybridge",),
    "Ivy Bridge": ("intel-ivybridge",),
    "Haswell": ("intel-haswell",),
    "Broadwell": ("intel-broadwell",),
    "Skylake": ("intel-skylake", "intel-skylake-server", "intel-skylake-client"),
    "Coffee Lake": ("intel-coffeelake",),
    "Cascade Lake": ("intel-cascadelake",),
    "Ice Lake": ("intel-icelake",),
    "Sapphire Rapids": ("intel-sapphirerapids",),
    "Emerald Rapids": ("intel-emeraldrapids",),
    "Granite Rapids": ("intel-graniterapids",),
    "EPYC 1st Gen": ("amd-epyc-gen1",),
    "EPYC 2nd Gen": ("amd-epyc-gen2",),
    "EPYC 3rd Gen": ("amd-epyc-gen3",),
    "EPYC 4th Gen": ("amd-epyc-gen4",),
    "EPYC 5th Gen": ("amd-epyc-gen5",),
    "Ampere Altra": ("amd-neoverse-n1",),  # CCF's Neoverse N1 list: Ampere Altra Q* and Altra Max M*
}

# Arm chips without SPECpower runs -> (proxy architecture, why). Range: proxy's ends x PROXY_WIDEN.
PROXIES: dict[str, tuple[str, str]] = {
    "Ampere Altra Max": ("Ampere Altra", "Neoverse N1 like Altra; CCF's N1 list pools both"),
    "Graviton": ("Ampere Altra", "Cortex-A72 (Graviton 1); no SPECpower run, N1 runs as proxy"),
    "Graviton2": ("Ampere Altra", "Neoverse N1, the core of Ampere Altra"),
    "Graviton3": ("Ampere Altra", "Neoverse V1; no SPECpower run, N1 runs as proxy"),
    "Graviton3E": ("Ampere Altra", "Neoverse V1; no SPECpower run, N1 runs as proxy"),
    "Graviton4": ("Ampere Altra", "Neoverse V2; no SPECpower run, N1 runs as proxy"),
    "Google Axion": ("Ampere Altra", "Neoverse V2; no SPECpower run, N1 runs as proxy"),
    "Azure Cobalt 100": ("Ampere Altra", "Neoverse N2; no SPECpower run, N1 runs as proxy"),
    "AmpereOne": ("Ampere Altra", "Ampere custom cores; no SPECpower run, N1 runs as proxy"),
    "Nvidia Grace": ("Ampere Altra", "Neoverse V2; no SPECpower run, N1 runs as proxy"),
}
PROXY_WIDEN = (Decimal("0.5"), Decimal("1.5"))
# Fewer runs than this: the range is the mean widened by FEW_RUNS_WIDEN (a spread of 1-4 runs is not one).
MIN_RUNS_FOR_SPREAD = 5
FEW_RUNS_WIDEN = Decimal("0.25")
DISAGREEMENT = Decimal("0.25")  # |derived / CCF - 1| above this is reported in the manifest


@dataclass(frozen=True)
class Run:
    line: int
    description: str
    idle_w: Decimal
    full_w: Decimal
    threads: Decimal  # whole system
    chips: Decimal
    memory_gb: Decimal
    cores_per_chip: Decimal | None
    threads_per_core: Decimal | None


@dataclass(frozen=True)
class Coefficient:
    architecture: str
    idle: tuple[Decimal, Decimal, Decimal]  # W per thread: central (mean), low, high
    full: tuple[Decimal, Decimal, Decimal]
    gb_per_chip: Decimal
    runs: int
    method: str  # "specpower" or "proxy: <architecture>"
    note: str


def runs(raw: Path) -> list[Run]:
    out = []
    for row in read_csv(raw / SPEC_FILE, ("CPU Description", IDLE, FULL, "Total Threads", "Chips"), label=SPEC_FILE):
        idle, full = row.number(IDLE, required=False), row.number(FULL, required=False)
        threads, chips = row.number("Total Threads", required=False), row.number("Chips", required=False)
        if idle is None or full is None or not threads or not chips:
            continue
        out.append(
            Run(
                row.line,
                row.get("CPU Description"),
                idle,
                full,
                threads,
                chips,
                row.number("Total Memory (GB)", required=False) or Decimal(0),
                row.number("# Cores Per Chip", required=False),
                row.number("# Threads Per Core", required=False),
            )
        )
    if not out:
        raise RawDataError(SPEC_FILE, None, IDLE, "no usable SPECpower runs")
    return out


def model_list(raw: Path, stem: str) -> tuple[str, ...]:
    """A CCF model list without its blank lines (an empty model would match every run)."""
    text = read_text(raw / f"{CCF}/data/{stem}.csv")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def family_runs(all_runs: list[Run], models: tuple[str, ...]) -> list[Run]:
    """CCF's rule: the run's CPU description ends with one of the family's model strings (as a whole
    word: 'Intel Xeon 6980P' is not a run of a list entry '980P')."""
    suffixes = tuple(f" {m}" for m in models)
    return [r for r in all_runs if r.description.strip().endswith(suffixes) or r.description.strip() in models]


def _percentile(values: list[Decimal], fraction: float) -> Decimal:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * Decimal(repr(position - below))


def _spread(values: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """Mean (CCF's central figure) with the 10th-90th percentile of the runs as its range."""
    mean = sum(values) / len(values)
    if len(values) < MIN_RUNS_FOR_SPREAD:
        return mean, mean * (1 - FEW_RUNS_WIDEN), mean * (1 + FEW_RUNS_WIDEN)
    return mean, min(mean, _percentile(values, 0.1)), max(mean, _percentile(values, 0.9))


def coefficients(raw: Path) -> list[Coefficient]:
    all_runs = runs(raw)
    derived: dict[str, Coefficient] = {}
    for architecture, stems in FAMILIES.items():
        models = tuple(m for stem in stems for m in model_list(raw, stem))
        chosen = family_runs(all_runs, models)
        if not chosen:
            raise RawDataError(SPEC_FILE, None, "CPU Description", f"no SPECpower run for {architecture}")
        derived[architecture] = Coefficient(
            architecture,
            _spread([r.idle_w / r.threads for r in chosen]),
            _spread([r.full_w / r.threads for r in chosen]),
            sum(r.memory_gb / r.chips for r in chosen) / len(chosen),
            len(chosen),
            "specpower",
            f"mean of {len(chosen)} SPECpower runs; range: 10th-90th percentile of the runs"
            if len(chosen) >= MIN_RUNS_FOR_SPREAD
            else f"mean of {len(chosen)} SPECpower runs; range: mean +-{fmt(FEW_RUNS_WIDEN * 100)}% (too few runs)",
        )
    for architecture, (proxy, why) in PROXIES.items():
        base = derived[proxy]
        low, high = PROXY_WIDEN
        derived[architecture] = Coefficient(
            architecture,
            (base.idle[0], base.idle[1] * low, base.idle[2] * high),
            (base.full[0], base.full[1] * low, base.full[2] * high),
            base.gb_per_chip,
            0,
            f"proxy: {proxy}",
            f"{why}; range: {proxy}'s x{fmt(low)}-x{fmt(high)}",
        )
    return list(derived.values())


def published(raw: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """CCF's published AWS table (the one regenerated from the 2026 snapshot): arch -> (min, max)."""
    file = f"{CCF}/output/coefficients-aws-use.csv"
    return {
        row.get("Architecture"): (row.number("Min Watts"), row.number("Max Watts"))
        for row in read_csv(raw / file, ("Architecture", "Min Watts", "Max Watts"), label=file)
    }


def compare(coefficient: Coefficient, ccf: tuple[Decimal, Decimal] | None) -> str:
    """'' when CCF agrees within DISAGREEMENT (or has no figure), else the line the manifest records."""
    if ccf is None or coefficient.method != "specpower":
        return ""
    ratios = (coefficient.idle[0] / ccf[0], coefficient.full[0] / ccf[1])
    if all(abs(r - 1) <= DISAGREEMENT for r in ratios):
        return ""
    return (
        f"{coefficient.architecture}: derived {fmt(coefficient.idle[0], 3)}/{fmt(coefficient.full[0], 3)} W per "
        f"thread from {coefficient.runs} runs, CCF publishes {fmt(ccf[0], 3)}/{fmt(ccf[1], 3)} "
        f"({fmt((ratios[0] - 1) * 100, 0)}%/{fmt((ratios[1] - 1) * 100, 0)}%); the derived figure is used"
    )


def chip_counts(all_runs: list[Run]) -> dict[str, tuple[int, int, int]]:
    """cpu_key -> (cores per chip, threads per chip, runs agreeing), the most common answer of its runs."""
    answers: dict[str, Counter] = {}
    for run in all_runs:
        if not run.cores_per_chip or not run.threads_per_core:
            continue
        cores = int(run.cores_per_chip)
        threads = int(run.cores_per_chip * run.threads_per_core)
        # A system's total must agree with its per-chip figures, else the row is inconsistent.
        if Decimal(threads) * run.chips != run.threads:
            continue
        answers.setdefault(cpu_key(run.description), Counter())[(cores, threads)] += 1
    out = {}
    for key, counter in answers.items():
        (cores, threads), count = counter.most_common(1)[0]
        out[key] = (cores, threads, count)
    return out
