"""The bundled instance catalogs: coverage of Cloud Carbon Footprint's instance lists, names the
power model can join on, manifest consistency, and the lookups other modules rely on."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from carbon import bundle, catalog, manifest
from carbon import gcp_machine_types as rules
from datasets import SAMPLES
from instance_catalog.azure import arm_name

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "intensity_data"
# CCF's whole instance lists (every row, the columns used here) are in the samples.
CCF = SAMPLES / "cloud-carbon-footprint"
# GPU models in the catalogs that the bundled gpus table (mlco2/Green Algorithms) has no row for yet.
# Accelerators with no published board power: they warn and take the default GPU range.
GPUS_WITHOUT_TDP_ROW = {
    "AWS Inferentia",
    "AWS Inferentia2",
    "AWS Trainium",
    "AWS Trainium2",
    "B300",
    "Radeon Pro V520",
}


def _rows(provider: str) -> list[dict[str, str]]:
    with (DATA / f"instances_{provider}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _raw(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _coverage(names: set[str], wanted: list[str]) -> float:
    return sum(1 for name in wanted if name.lower() in names) / len(wanted)


def test_aws_covers_ccf_2026_instance_list():
    names = {r["instance_type"].lower() for r in _rows("aws")}
    wanted = [r["Instance Type"] for r in _raw(CCF / "ccf-coefficients/data/aws-instances-latest-2026.csv")]
    assert _coverage(names, wanted) >= 0.95
    wanted_app = [r["instance_type"] for r in _raw(CCF / "derived/ccf_app_aws_ec2_instance_types.csv")]
    assert _coverage(names, wanted_app) >= 0.95


def test_gcp_covers_ccf_lists_and_agrees_on_shapes():
    names = {r["instance_type"] for r in _rows("gcp")}
    latest = _raw(CCF / "ccf-coefficients/data/gcp-instances-latest-2026.csv")
    assert _coverage(names, [r["Instance Type"] for r in latest]) >= 0.95
    assert _coverage(names, [r["machine_type"] for r in _raw(CCF / "derived/ccf_app_gcp_machine_types.csv")]) >= 0.95
    table = {r["instance_type"]: r for r in _rows("gcp")}
    disagree = sorted(
        r["Instance Type"]
        for r in latest
        if r["Instance Type"] in table
        and (
            float(table[r["Instance Type"]]["vcpus"]) != float(r["Instance vCPU"])
            or abs(float(table[r["Instance Type"]]["memory_gib"]) - float(r["Instance Memory"])) > 0.01
        )
    )
    # CCF's one known slip: a2-ultragpu-1g has 170 GB (Google's A2 Ultra table), CCF copied A2 High's 85.
    assert disagree == ["a2-ultragpu-1g"]


def test_azure_covers_ccf_lists():
    names = {r["instance_type"].lower() for r in _rows("azure")}
    for path, column in (
        ("derived/ccf_app_azure_vm_types.csv", "vm_type"),
        ("ccf-coefficients/data/azure-instances.csv", "Virtual Machine"),
    ):
        wanted = sorted({r[column] for r in _raw(CCF / path)})
        found = sum(1 for n in wanted if (arm_name(n) or "").lower() in names or n.lower() in names)
        assert found / len(wanted) >= 0.95, path


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_microarchitectures_have_coefficients(provider):
    with (DATA / "microarchitectures.csv").open(newline="", encoding="utf-8") as handle:
        known = {r["microarchitecture"] for r in csv.DictReader(handle)}
    used = {a for r in _rows(provider) for a in r["cpu_microarchitecture"].split("|") if a}
    assert used <= known


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_manifest_entry_matches_the_file(provider):
    name = f"instances_{provider}.csv"
    entry = next(e for e in manifest.load(DATA)["files"] if e["file"] == name)
    assert entry["sha256"] == manifest.sha256_file(DATA / name)
    assert entry["rows"] == len(_rows(provider))
    assert entry["columns"] == list(_rows(provider)[0])
    sources = manifest.load(DATA)["sources"]
    assert set(entry["sources"]) <= set(sources)
    assert {r["source"] for r in _rows(provider)} <= set(entry["sources"])


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_rows_satisfy_the_contract(provider):
    rows = _rows(provider)
    assert len({r["instance_type"].lower() for r in rows}) == len(rows)
    for row in rows:
        assert float(row["vcpus"]) > 0 and float(row["memory_gib"]) > 0, row
        if row["burstable_baseline_fraction"]:
            assert 0 < float(row["burstable_baseline_fraction"]) <= 1, row
        if float(row["gpu_count"] or 0):
            assert row["gpu_model"], row


@pytest.mark.parametrize(
    "provider, name, vcpus, memory_gib",
    [
        ("aws", "m5.xlarge", 4, 16),
        ("gcp", "n2-standard-8", 8, 32),
        ("azure", "Standard_D4s_v5", 4, 16),
    ],
)
def test_catalog_lookups_other_modules_use(provider, name, vcpus, memory_gib):
    bundle.clear_cache()
    hardware = catalog.instance(provider, name)
    # the catalogs list GiB as the providers do; carbon's unit is the decimal GB: 1 GiB = 1.073741824 GB
    assert hardware.vcpus == vcpus and hardware.memory_gb == pytest.approx(memory_gib * 1.073741824)
    assert hardware.microarchitecture


def test_every_predefined_gcp_row_matches_the_rules():
    for row in _rows("gcp"):
        shape = rules.describe(row["instance_type"])
        assert (shape.vcpus, shape.memory_gib) == (float(row["vcpus"]), float(row["memory_gib"])), row


def test_gpu_models_resolve_in_the_gpus_table_or_are_known_gaps():
    if not (DATA / "gpus.csv").exists():
        pytest.skip("gpus table not built yet")
    bundle.clear_cache()
    models = {m for p in ("aws", "gcp", "azure") for r in _rows(p) for m in r["gpu_model"].split("|") if m}
    unresolved = {m for m in models if catalog.gpu(m) is None}
    assert unresolved <= GPUS_WITHOUT_TDP_ROW


def _scan(key: str, rows: dict[str, dict[str, str]]) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """The catalogs' matching rules applied to every row in turn (the reference for the text search)."""
    tokens = set(key.split())
    best, best_score = rows.get(key), 0.0
    if best is None:
        for candidate in rows:
            ctokens = set(candidate.split())
            numbered = any(any(ch.isdigit() for ch in t) for t in ctokens)
            if ctokens and candidate.split()[0] in tokens and ctokens <= tokens and numbered:
                if len(ctokens) / len(tokens) > best_score:
                    best, best_score = rows[candidate], len(ctokens) / len(tokens)
    family_ok = bool(tokens) and (len(tokens) > 1 or any(ch.isdigit() for ch in key))
    members = [row for candidate, row in rows.items() if family_ok and tokens <= set(candidate.split())]
    return best, members


def test_text_search_finds_what_a_scan_of_every_row_finds():
    from carbon.bundle import table
    from carbon.hardware_names import cpu_key, gpu_key

    for name, key_of, lookup, family in (
        ("cpus", cpu_key, catalog.cpu, catalog.cpu_family),
        ("gpus", gpu_key, catalog.gpu, catalog.gpu_family),
    ):
        rows: dict[str, dict[str, str]] = {}
        for row in table(name):
            rows[row["key"]] = row  # a repeated key keeps its last row
        models = [row["model"] for row in table(name)][::7]
        names = models + [" ".join(model.split()[:2]) for model in models] + ["AMD EPYC", "Xeon 8368Q", "A100"]
        for model in names:
            best, members = _scan(key_of(model), rows)
            assert lookup(model) == best, model
            assert family(model) == members, model


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_instance_text_search_finds_each_types_row(provider):
    rows: dict[str, dict[str, str]] = {}
    for row in bundle.table(f"instances_{provider}"):
        rows[row["instance_type"].lower()] = row  # a repeated type keeps its last row
    for name, row in rows.items():
        assert catalog._instance_row(provider, name) == row, name
        assert catalog.instance(provider, name.upper()) == catalog._hardware_from_row(provider, row)
    assert catalog._instance_row(provider, "no-such-type") is None
