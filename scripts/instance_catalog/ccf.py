"""Readers for the Cloud Carbon Footprint and Teads tables the catalogs borrow hardware facts from.

Only plain lookups live here (instance type -> CPU name, microarchitectures, GPUs); the
provider modules decide how to combine them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from carbon.errors import DataError

CCF = "cloud-carbon-footprint"
CCF_DATA = f"{CCF}/ccf-coefficients/data"
CCF_DERIVED = f"{CCF}/derived"
TEADS = "teads-ec2/valohai-wattson/data/aws_instances_dataset.csv"


class SourceDataError(DataError):
    """A raw table is missing or lacks a column the build needs."""


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise SourceDataError(f"{path}: missing column(s) {', '.join(missing)}")
            return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except FileNotFoundError:
        raise SourceDataError(f"{path}: not found (is --datasets the shared datasets folder?)") from None


def number(text: str) -> float | None:
    """'4' -> 4.0, '0,29' (Teads comma decimals) -> 0.29, '' -> None."""
    text = text.strip().replace(",", ".")
    return float(text) if text else None


@dataclass(frozen=True)
class Datasets:
    """The shared raw-datasets folder (layout of ../shared/datasets)."""

    root: Path

    @property
    def ccf_data(self) -> Path:
        return self.root / CCF_DATA

    def ccf(self, name: str, required: tuple[str, ...]) -> list[dict[str, str]]:
        return read_rows(self.root / CCF_DATA / name, required)

    def derived(self, name: str, required: tuple[str, ...]) -> list[dict[str, str]]:
        return read_rows(self.root / CCF_DERIVED / name, required)

    def teads(self) -> list[dict[str, str]]:
        return read_rows(self.root / TEADS, ("Instance type", "Platform CPU Name"))
