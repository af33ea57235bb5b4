"""`carbon data status` and `carbon data verify` on a copy of the bundle (CARBON_DATA_DIR)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from carbon.cli import main

BUNDLE = Path(__file__).resolve().parents[1] / "intensity_data"


@pytest.fixture()
def bundle(tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(BUNDLE, copy, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    monkeypatch.setenv("CARBON_DATA_DIR", str(copy))
    return copy


def test_verify_passes_on_an_intact_copy(bundle, capsys):
    assert main(["data", "verify"]) == 0
    assert str(bundle) in capsys.readouterr().out


def test_verify_detects_a_tampered_file(bundle, capsys):
    path = bundle / "countries.csv"
    data = bytearray(path.read_bytes())
    data[-3:-1] = b"99"  # change the last figure's digits, not the row count
    path.write_bytes(bytes(data))
    assert main(["data", "verify"]) == 1
    err = capsys.readouterr().err
    assert "countries.csv: sha256" in err and "1 problem" in err


def test_verify_lists_every_problem(bundle, capsys):
    (bundle / "gpus.csv").unlink()
    with (bundle / "pue.csv").open("a", encoding="utf-8") as handle:
        handle.write("aws,2031,1.1,fleet,aws-pue\n")
    (bundle / "extra.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["data", "verify"]) == 1
    err = capsys.readouterr().err
    assert "gpus.csv: listed in the manifest but missing" in err
    assert "pue.csv: sha256" in err and "pue.csv: 10 rows, the manifest says 9" in err
    assert "extra.csv: not listed in the manifest" in err


def test_verify_on_a_missing_folder_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARBON_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["data", "verify"]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_status_json_cites_sources(bundle, capsys):
    assert main(["data", "status", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data_dir"] == str(bundle)
    tables = {t["file"]: t for t in report["tables"]}
    countries = tables["countries.csv"]
    assert countries["years"] == "2000-2024" and countries["rows"] > 5000
    ember = next(s for s in countries["sources"] if s["id"] == "ember-yearly")
    assert ember["licence"] == "CC BY 4.0" and ember["url"].startswith("https://github.com/ember-climate/")
    assert isinstance(countries["age_days"], int) and countries["age_days"] >= 0
    google = tables["cloud_region_intensity.csv"]
    assert google["licence"] == "Apache-2.0" and google["years"] == "2019-2024"


def test_status_text(bundle, capsys):
    assert main(["data", "status"]) == 0
    out = capsys.readouterr().out
    assert "grid_hourly.csv" in out and "licence: CC BY 4.0" in out


def test_data_needs_an_action(capsys):
    assert main(["data"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "carbon data: error: the following arguments are required: ACTION (see carbon data --help)"
    ]


def test_status_accepts_every_way_of_writing_years(tmp_path, monkeypatch, capsys):
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "files": [
                    {"file": "a.csv", "years": [2026, 2021], "rows": 1, "built": "2026-01-01", "sources": []},
                    {"file": "b.csv", "years": "2019-2024", "rows": 1, "retrieved": "2025-01-01", "sources": []},
                    {"file": "c.csv", "rows": 1, "sources": []},
                ]
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CARBON_DATA_DIR", str(tmp_path))
    assert main(["data", "status", "--format", "json"]) == 0
    years = {t["file"]: t["years"] for t in json.loads(capsys.readouterr().out)["tables"]}
    assert years == {"a.csv": "2021-2026", "b.csv": "2019-2024", "c.csv": ""}
    assert main(["data", "status"]) == 0
