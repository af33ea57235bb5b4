"""Normalised keys for CPU and GPU model names, shared by the data updater and the runtime.

The same physical part is spelled many ways ("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz"
in /proc/cpuinfo, "Intel Xeon Platinum 8175M" in a TDP table, "NVIDIA A100-SXM4-80GB" from
NVML); matching on one normal form keeps the lookup a dictionary access.
"""

from __future__ import annotations

import re

_CPU_NOISE = re.compile(
    r"\((?:r|tm|c)\)|®|™|\bcpu\b|\bprocessor\b|@\s*[\d.]+\s*[gm]hz|\b[\d.]+\s*[gm]hz\b|"
    r"\bwith radeon(?: \w+)? graphics\b|\b\d+-core\b|\bcore\(tm\)|\bengineering sample\b"
)
_GPU_NOISE = re.compile(r"\bnvidia\b|\btesla\b|\bgeforce\b|\bamd\b|\bradeon\b|\binstinct\b|\bgraphics\b")


def _collapse(text: str) -> str:
    text = re.sub(r"[^a-z0-9.+]+", " ", text)
    return " ".join(text.split())


def cpu_key(name: str) -> str:
    """'Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz' -> 'intel xeon platinum 8175m'."""
    return _collapse(_CPU_NOISE.sub(" ", name.lower()))


def gpu_key(name: str) -> str:
    """'NVIDIA A100-SXM4-80GB' -> 'a100 sxm4 80gb'; 'Tesla V100-SXM2-16GB' -> 'v100 sxm2 16gb'."""
    return _collapse(_GPU_NOISE.sub(" ", name.lower()))
