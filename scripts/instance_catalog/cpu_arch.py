"""CPU model name -> Cloud Carbon Footprint microarchitecture name.

The power model joins instance rows to `microarchitectures.csv` on the architecture name
(CCF's names, plus the Arm chips that table covers by proxy: Ampere Altra, Google Axion, Azure
Cobalt 100), so we only ever emit those names. Retail parts are found in CCF's own model lists
(`data/intel-*.csv`, `amd-*.csv`); cloud-custom parts (Xeon 8175M, EPYC 7R13) are not in
those lists, so Intel's and AMD's published numbering schemes place them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from intensity_sources.hardware import MODEL_LISTS

# CCF model-list file stem -> CCF architecture name: the intensity updater's table, one copy.

# Architecture names spelled out in a CPU description (longest first, so "Graviton3E" beats "Graviton3").
_NAMED = (
    ("axion", "Google Axion"),
    ("altra max", "Ampere Altra Max"),
    ("altra", "Ampere Altra"),
    ("ampereone", "AmpereOne"),
    ("cobalt 100", "Azure Cobalt 100"),
    ("grace", "Nvidia Grace"),
    ("graviton3e", "Graviton3E"),
    ("graviton4", "Graviton4"),
    ("graviton3", "Graviton3"),
    ("graviton2", "Graviton2"),
    ("granite rapids", "Granite Rapids"),
    ("emerald rapids", "Emerald Rapids"),
    ("sapphire rapids", "Sapphire Rapids"),
    ("ice lake", "Ice Lake"),
    ("cascade lake", "Cascade Lake"),
    ("coffee lake", "Coffee Lake"),
    ("skylake", "Skylake"),
    ("broadwell", "Broadwell"),
    ("haswell", "Haswell"),
    ("ivy bridge", "Ivy Bridge"),
    ("sandy bridge", "Sandy Bridge"),
)

# CCF application spellings -> coefficient-file spellings.
_CCF_APP_ALIASES = {
    "AMD EPYC 1st Gen": "EPYC 1st Gen",
    "AMD EPYC 2nd Gen": "EPYC 2nd Gen",
    "AMD EPYC 3rd Gen": "EPYC 3rd Gen",
    "AMD EPYC 4th Gen": "EPYC 4th Gen",
    "AWS Graviton2": "Graviton2",
    "AWS Graviton": "Graviton",
    "Unknown": "",
}

# Xeon Scalable second digit -> generation (Intel's naming: 81xx/61xx Skylake, 82xx Cascade Lake, ...).
_XEON_SCALABLE = {"1": "Skylake", "2": "Cascade Lake", "3": "Ice Lake", "4": "Sapphire Rapids", "5": "Emerald Rapids"}
# Xeon E5/E7 version suffix -> generation (no suffix on E5-26xx is Sandy Bridge).
_XEON_VERSION = {"": "Sandy Bridge", "2": "Ivy Bridge", "3": "Haswell", "4": "Broadwell"}
# EPYC last model digit -> generation (AMD's scheme: 7xx1 Naples ... 9xx5 Turin).
_EPYC_GEN = {"1": "EPYC 1st Gen", "2": "EPYC 2nd Gen", "3": "EPYC 3rd Gen", "4": "EPYC 4th Gen", "5": "EPYC 5th Gen"}


def normalise_ccf_app(names: str) -> str:
    """'Cascade Lake|AMD EPYC 2nd Gen|Unknown' -> 'Cascade Lake|EPYC 2nd Gen' (order kept, blanks dropped)."""
    out: list[str] = []
    for name in names.split("|"):
        name = _CCF_APP_ALIASES.get(name.strip(), name.strip())
        if name and name not in out:
            out.append(name)
    return "|".join(out)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(re.sub(r"[^a-z0-9]+", " ", text.lower().replace("‑", "-")).split())


@lru_cache(maxsize=4)
def _model_index(ccf_data: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    entries = []
    for stem, arch in MODEL_LISTS.items():
        path = Path(ccf_data) / f"{stem}.csv"
        for line in path.read_text(encoding="utf-8-sig").splitlines():
            tokens = _tokens(line)
            if tokens:
                entries.append((tokens, arch))
    # Longest model strings first, so 'E5-2670 v2' wins over 'E5-2670'.
    return tuple(sorted(entries, key=lambda e: (-len(e[0]), e[0], e[1])))


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def architecture(cpu_model: str, ccf_data: Path) -> str:
    """The CCF architecture of a CPU description, or '' when no rule places it."""
    lowered = cpu_model.lower()
    for needle, arch in _NAMED:
        if needle in lowered:
            return arch
    tokens = _tokens(cpu_model)
    if not tokens:
        return ""
    for entry, arch in _model_index(str(ccf_data)):
        if _contains(tokens, entry):
            return arch
    text = " ".join(tokens)
    if match := re.search(r"\b(?:platinum|gold|silver|bronze|p)\s*\d([1-5])\d\d[a-z]*\b", text):
        return _XEON_SCALABLE[match.group(1)]
    if match := re.search(r"\b[8-9]\d([1-5])\d[a-z]*\b", text) if "xeon" in text and "e5" not in text else None:
        return _XEON_SCALABLE[match.group(1)]
    if match := re.search(r"\be[57] \d{4}[a-z]*(?: v([2-4]))?\b", text):
        return _XEON_VERSION[match.group(1) or ""]
    if match := re.search(r"\bepyc (?:\d[a-z0-9]{2})([1-5])[a-z]*\b", text):
        return _EPYC_GEN[match.group(1)]
    if "annapurna" in text or re.search(r"\bgraviton\b", text):
        return "Graviton"
    return ""
