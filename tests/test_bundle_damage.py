"""A damaged bundle is a data error naming the damaged file, never a region that seems not to exist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import carbon.intensity_data as intensity_data
import pytest

from carbon import bundle
from carbon.bundle import BundleError
from carbon.manifest import verify
from carbon.regions import resolve

SOURCE = Path(intensity_data.__file__).parent


@pytest.fixture
def copy(tmp_path, monkeypatch):
    target = tmp_path / "bundle"
    shutil.copytree(SOURCE, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("CARBON_DATA_DIR", str(target))
    bundle.clear_cache()
    yield target
    bundle.clear_cache()


def _cut(path: Path, keep_bytes: int) -> None:
    path.write_bytes(path.read_bytes()[:keep_bytes])


def test_countries_cut_mid_line_names_the_file(copy):
    _cut(copy / "countries.csv", 100_000)  # not on a line boundary in this table
    assert not (copy / "countries.csv").read_bytes().endswith(b"\n")
    with pytest.raises(BundleError, match=r"countries\.csv is cut off mid-line"):
        resolve("FR")


def test_countries_cut_at_a_line_boundary_is_caught_by_the_row_count(copy):
    lines = (copy / "countries.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (copy / "countries.csv").write_text("".join(lines[:101]), encoding="utf-8")  # header + 100 rows
    with pytest.raises(BundleError, match=r"countries\.csv is incomplete \(100 rows, its manifest says \d+\)"):
        resolve("FR")


def test_an_intact_copy_resolves(copy):
    assert resolve("FR").zone == "FR"


@pytest.mark.parametrize("text", ['{"files": [', "[1, 2]", "\x00\x01"])
def test_corrupt_manifest_is_a_data_error_naming_it(copy, text):
    (copy / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(BundleError, match=r"manifest\.json"):
        bundle.manifest()
    problems = verify(copy)
    assert len(problems) == 1 and problems[0].file == "manifest.json"


def test_data_verify_says_what_is_wrong_on_the_command_line(copy, tmp_path):
    _cut(copy / "countries.csv", 100_000)
    (copy / "manifest.json").write_text('{"files": [', encoding="utf-8")
    env = {**os.environ, "CARBON_DATA_DIR": str(copy)}
    run = [sys.executable, "-m", "carbon", "data", "verify"]
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "manifest.json" in result.stderr and "not valid JSON" in result.stderr
    (tmp_path / "empty").mkdir()
    env["CARBON_DATA_DIR"] = str(tmp_path / "empty")
    result = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "ok:" not in result.stdout and "not a carbon data bundle" in result.stderr


def test_estimate_on_a_truncated_table_names_the_file_not_the_region(copy):
    _cut(copy / "countries.csv", 100_000)
    env = {**os.environ, "CARBON_DATA_DIR": str(copy)}
    result = subprocess.run(
        [sys.executable, "-m", "carbon", "estimate", "--region", "FR", "--energy-kwh", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "unknown region" not in result.stderr
    assert "countries.csv is cut off mid-line" in result.stderr
