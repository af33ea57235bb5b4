"""The central PUE and intensity of every cloud region, as `compare_regions` weighs them.

Pricing every region of a provider (the "same work elsewhere" line of `carbon estimate`) means a
lookup in the intensity tables per region: ~30 ms of a command that otherwise takes ~20 ms of
work. The updater therefore ships the figures precomputed in `region_figures.json`, listed with
its checksum in the manifest. The file names the tables it was computed from with their CRC-32;
where any differs (a refreshed table, a user's own bundle) or the file is absent, the figures
are computed here, the same way, so a stale file is never read. The CRC is a change detector,
not a guard against tampering (the manifest's sha256 and `carbon data verify` are): hashing the
inputs with sha256 meant loading OpenSSL's hashlib at every `carbon estimate`, ~2 ms.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from carbon.bundle import data_dir, derived

FILE_NAME = "region_figures.json"
PROVIDERS = ("aws", "gcp", "azure")
# What a region's central figures are read from: the regions and their PUE, the providers' own
# intensity, the zones' annual intensity (eGRID for US-EGRID-* zones). Monthly tables only range
# a figure; the hourly table serves balancing-authority zones, which no cloud region uses.
INPUTS = ("cloud_regions", "cloud_region_intensity", "pue", "countries", "subdivisions", "egrid_subregions")


def compute(provider: str) -> list[tuple[str, str, float, float]]:
    """(region, emission-factor basis, PUE, intensity g/kWh) of each of the provider's regions that
    can be priced, from the tables themselves."""
    from carbon.pricing import intensity_for, pue_for
    from carbon.regions import cloud_regions

    figures = []
    for location in cloud_regions(provider):
        try:
            intensity = intensity_for(location)
            pue = pue_for(location)[0].central
        except LookupError:
            continue
        figures.append((location.region, intensity.basis, pue, intensity.intensity_g_per_kwh.central))
    return figures


def _digests(directory: Path) -> dict[str, str]:
    return {
        name: f"crc32:{zlib.crc32((directory / f'{name}.csv').read_bytes()):08x}"
        for name in INPUTS
        if (directory / f"{name}.csv").exists()
    }


def document() -> dict[str, Any]:
    """The file's content for the bundle in `data_dir()` (the updater writes it)."""
    return {
        "inputs": _digests(data_dir()),
        "providers": {provider: [list(figure) for figure in compute(provider)] for provider in PROVIDERS},
    }


def dumps(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


@derived
def _shipped() -> dict[str, list[tuple[str, str, float, float]]] | None:
    """The shipped figures when they were computed from these very tables, else None."""
    directory = data_dir()
    try:
        content = json.loads((directory / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("inputs") != _digests(directory):
        return None
    try:
        return {
            provider: [(str(r), str(b), float(p), float(i)) for r, b, p, i in rows]
            for provider, rows in content["providers"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def figures(provider: str) -> list[tuple[str, str, float, float]]:
    """The provider's region figures: shipped where they match the tables, else computed."""
    shipped = _shipped()
    if shipped is not None and provider in shipped:
        return shipped[provider]
    return compute(provider)
