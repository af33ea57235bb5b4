"""Catalog writing: contract validation writes nothing, output is byte-stable, the manifest keeps
other builders' entries and sources, and the CLI's offline builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import update_instance_catalog
from carbon import manifest
from datasets import FULL, needs_full_datasets
from instance_catalog.table import CatalogError, CatalogRow, TableMeta, render, write

RAW = FULL
META = TableMeta(
    "gcp",
    "test table",
    {"gcp-machine-types-docs": {"title": "t", "url": "u", "licence": "l", "year": 2025, "retrieved": "2026-11-29"}},
    "facts",
    (2025,),
)


def _row(name="n2-standard-8", vcpus=8.0, memory_gib=32.0, **kw):
    return CatalogRow(name, "n2-standard", vcpus, memory_gib, source=kw.pop("source", "gcp-machine-types-docs"), **kw)


def _seed(tmp_path: Path) -> None:
    other = {
        "schema_version": 1,
        "files": [{"file": "countries.csv", "sha256": "abc", "rows": 3}],
        "sources": {"ember-yearly": {"title": "Ember"}, "ccf-app": {"title": "the other builder's wording"}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(other))


@pytest.mark.parametrize(
    "rows, message",
    [
        ([_row(), _row()], "duplicate"),
        ([_row(), _row("N2-STANDARD-8")], "duplicate"),
        ([_row(vcpus=0)], "vcpus"),
        ([_row(memory_gib=-1)], "memory_gib"),
        ([_row(gpu_count=2)], "GPU model"),
        ([_row(burstable_baseline_fraction=1.5)], "baseline"),
        ([_row(source="")], "source"),
        ([], "no rows"),
    ],
)
def test_contract_violations_write_nothing(tmp_path, rows, message):
    _seed(tmp_path)
    before = (tmp_path / "manifest.json").read_bytes()
    with pytest.raises(CatalogError, match=message):
        write(tmp_path, rows, META)
    assert not (tmp_path / "instances_gcp.csv").exists()
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temp files left behind


def test_render_sorts_naturally_and_formats_numbers():
    text = render(
        [
            _row("n2-standard-16", 16, 64),
            _row("n2-standard-2", 2, 8),
            _row("e2-micro", 2, 1, burstable_baseline_fraction=0.125),
            _row("n1-standard-1", 1, 3.75),
        ]
    )
    lines = text.splitlines()
    assert lines[0] == (
        "instance_type,family,vcpus,memory_gib,cpu_microarchitecture,cpu_model,gpu_model,gpu_count,"
        "burstable_baseline_fraction,source"
    )
    assert [line.split(",")[0] for line in lines[1:]] == [
        "e2-micro",
        "n1-standard-1",
        "n2-standard-2",
        "n2-standard-16",
    ]
    assert lines[1].split(",")[2:4] == ["2", "1"] and lines[1].split(",")[8] == "0.125"
    assert lines[2].split(",")[3] == "3.75"


def test_write_merges_manifest_entry_and_keeps_others(tmp_path):
    _seed(tmp_path)
    path = write(tmp_path, [_row(), _row("e2-micro", 2, 1)], META, retrieved="2026-11-29")
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert [e["file"] for e in data["files"]] == ["countries.csv", "instances_gcp.csv"]
    entry = data["files"][1]
    assert entry["rows"] == 2 and entry["sha256"] == manifest.sha256_file(path)
    assert entry["columns"][0] == "instance_type" and entry["sources"] == ["gcp-machine-types-docs"]
    assert set(data["sources"]) == {"ember-yearly", "ccf-app", "gcp-machine-types-docs"}
    assert data["sources"]["ccf-app"] == {"title": "the other builder's wording"}
    assert manifest.verify(tmp_path) == [manifest.Problem("countries.csv", "listed in the manifest but missing")]


def test_cli_offline_gcp_build_is_byte_identical_across_runs(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert (
            update_instance_catalog.main(
                ["--provider", "gcp", "--from-bundle-sources", "--out", str(out), "--retrieved", "2026-11-29"]
            )
            == 0
        )
    assert (first / "instances_gcp.csv").read_bytes() == (second / "instances_gcp.csv").read_bytes()
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    assert "instances_gcp.csv" in capsys.readouterr().out


@needs_full_datasets
def test_cli_offline_azure_build_is_deterministic(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert (
            update_instance_catalog.main(
                [
                    "--provider",
                    "azure",
                    "--from-bundle-sources",
                    "--out",
                    str(out),
                    "--datasets",
                    str(RAW),
                    "--retrieved",
                    "2026-11-29",
                ]
            )
            == 0
        )
    assert (outs[0] / "instances_azure.csv").read_bytes() == (outs[1] / "instances_azure.csv").read_bytes()


def test_cli_reports_a_missing_datasets_folder_and_writes_nothing(tmp_path, capsys):
    code = update_instance_catalog.main(
        [
            "--provider",
            "azure",
            "--from-bundle-sources",
            "--out",
            str(tmp_path),
            "--datasets",
            str(tmp_path / "nowhere"),
        ]
    )
    assert code == 1
    assert "nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_live_modes_need_their_account_ids():
    with pytest.raises(SystemExit) as caught:
        update_instance_catalog.main(["--provider", "gcp"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        update_instance_catalog.main(["--provider", "azure"])
