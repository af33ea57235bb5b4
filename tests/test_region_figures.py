"""The precomputed region figures behind `carbon estimate`'s comparison line: the same figures as
pricing each region, listed in the manifest, and never read once a table they come from changed."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import carbon.intensity_data as intensity_data
import pytest

from carbon import bundle, region_figures
from carbon.manifest import verify

SOURCE = Path(intensity_data.__file__).parent


@pytest.fixture
def copy(tmp_path, monkeypatch):
    target = tmp_path / "bundle"
    shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("CARBON_DATA_DIR", str(target))
    bundle.clear_cache()
    yield target
    bundle.clear_cache()


def test_shipped_figures_are_what_pricing_each_region_gives():
    shipped = json.loads((SOURCE / region_figures.FILE_NAME).read_text(encoding="utf-8"))["providers"]
    for provider in region_figures.PROVIDERS:
        assert [tuple(row) for row in shipped[provider]] == region_figures.compute(provider), provider
        assert region_figures.figures(provider) == region_figures.compute(provider)


def test_the_manifest_lists_the_file_with_its_checksum():
    entries = {e["file"]: e for e in json.loads((SOURCE / "manifest.json").read_text(encoding="utf-8"))["files"]}
    assert region_figures.FILE_NAME in entries
    assert verify(SOURCE) == []


def test_a_changed_input_table_is_priced_from_the_tables(copy):
    # Stockholm moved to the Polish grid: the shipped figures no longer describe this bundle.
    path = copy / "cloud_regions.csv"
    text = path.read_text(encoding="utf-8")
    old = "aws,eu-north-1,Europe (Stockholm),SE,,,,SE,"
    assert old in text
    path.write_text(text.replace(old, "aws,eu-north-1,Europe (Stockholm),SE,,,,PL,"), encoding="utf-8")
    with (copy / "countries.csv").open(newline="", encoding="utf-8") as handle:
        poland = [row for row in csv.DictReader(handle) if row["iso2"] == "PL"]
    latest = max(poland, key=lambda row: int(row["year"]))
    figures = {region: (basis, intensity) for region, basis, _, intensity in region_figures.figures("aws")}
    assert figures["aws:eu-north-1"] == (latest["basis"], float(latest["intensity_g_per_kwh"]))


def test_a_bundle_without_the_file_is_priced_from_the_tables(copy):
    expected = region_figures.figures("gcp")
    (copy / region_figures.FILE_NAME).unlink()
    bundle.clear_cache()
    assert region_figures.figures("gcp") == expected
