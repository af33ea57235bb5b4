"""Normalised keys for CPU and GPU model names, shared by the data updater and the runtime.

The same physical part is spelled many ways ("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz"
in /proc/cpuinfo, "Intel Xeon Platinum 8175M" in a TDP table, "NVIDIA A100-SXM4-80GB" from
NVML); matching on one normal form keeps the lookup a dictionary access.
"""

from __future__ import annotations

import re

# Patterns are strings compiled on first use (the re module caches them): compiling all of them
# at import cost every start ~1 ms, and most commands use one or two.
_CPU_NOISE = (
    r"\((?:r|tm|c)\)|®|™|\bcpu\b|\bprocessor\b|@\s*[\d.]+\s*[gm]hz|\b[\d.]+\s*[gm]hz\b|"
    r"\bwith radeon(?: \w+)? graphics\b|\bwith\b|\bchip\b|\b\d+-core\b|\bcore\(tm\)|\bengineering sample\b"
)
_GPU_NOISE = r"\bnvidia\b|\btesla\b|\bgeforce\b|\bamd\b|\bradeon\b|\binstinct\b|\bgraphics\b"


# Threads per core by vendor line (vendor naming: Hyper-Threading / SMT2 on every Xeon except Xeon
# Phi (4) and the E-core Xeon 6 "xxxxE"; SMT2 on every EPYC, Threadripper and Ryzen 7/9; one thread
# per core on Opteron, Apple silicon and Arm server chips). Applied to cpu_key forms.
_SMT_RULES = (
    (r"\bxeon phi\b", 4),
    (r"\bxeon 6 \d{4}e\b|\bxeon \d{4}e\b", 1),
    (r"\bxeon\b", 2),
    (r"\bepyc\b|\bthreadripper\b|\bryzen [79]\b|\bamd [79]\d{3}[a-z]*$", 2),  # GA: "AMD 7552"
    (r"\bopteron\b|\bampere\b|\baltra\b|\bgraviton\d*\b|\baxion\b|\bcobalt\b|\bapple\b|\bgrace\b", 1),
)
# "AMD Ryzen 7 5800X 8-Core Processor", "Apple M2 with 8-core CPU" (any dash), Ampere "Altra Q80-30".
_CORES_SPELLED = r"\b(\d{1,3})\s*[-\u2010\u2011\u2012\u2013 ]\s*core\b"
_AMPERE_CORES = r"\baltra(?: max)?\s+[qm](\d{2,3})[- ]?\d\d\b"


def threads_per_core(key: str) -> int | None:
    """The vendor's threads per core for a `cpu_key`, or None when the line does not fix it."""
    for pattern, threads in _SMT_RULES:
        if re.search(pattern, key):
            return threads
    return None


def cores_in_name(name: str) -> int | None:
    """Cores per chip spelled in a model name ('8-Core Processor', 'with 12-core CPU', Ampere 'Q80-30')."""
    match = re.search(_CORES_SPELLED, name, re.IGNORECASE) or re.search(_AMPERE_CORES, name, re.IGNORECASE)
    return int(match.group(1)) if match else None


_DASHES = "[\u2010-\u2015]"  # "8\u2011core" as AWS spells it: a plain hyphen


def _collapse(text: str) -> str:
    text = re.sub(r"[^a-z0-9.+]+", " ", text)
    return " ".join(text.split())


def cpu_key(name: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz' -> 'intel xeon platinum 8175m'."""
    return _collapse(re.sub(_CPU_NOISE, " ", re.sub(_DASHES, "-", name.lower())))


def gpu_key(name: str) -> str:
    """'NVIDIA A100-SXM4-80GB' -> 'a100 sxm4 80gb'; 'Tesla V100-SXM2-16GB' -> 'v100 sxm2 16gb'."""
    return _collapse(re.sub(_GPU_NOISE, " ", name.lower()))
