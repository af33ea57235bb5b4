"""The hardware half of the power model, against the bundled tables and hand calculations.

Expected watts are computed here from the table rows (cpus.csv, microarchitectures.csv, gpus.csv,
constants.csv), never read back from the code under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import carbon
from carbon import bundle, catalog
from carbon.cli import main
from carbon.hardware_names import cpu_key
from carbon.power import power_model

DATA = Path(__file__).resolve().parents[1] / "intensity_data"
GB_PER_GIB = 2**30 / 10**9


def table(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def cpu_row(model: str) -> dict[str, str]:
    return next(r for r in table("cpus") if r["key"] == cpu_key(model))


def arch_row(name: str) -> dict[str, float]:
    row = next(r for r in table("microarchitectures") if r["microarchitecture"] == name)
    return {k: float(row[k]) for k in ("min_w_per_thread", "max_w_per_thread", "min_low", "max_high")}


def constant(name: str) -> dict[str, str]:
    return next(r for r in table("constants") if r["name"] == name)


def estimate_json(capsys, *args: str) -> dict:
    assert main(["estimate", "--duration", "1h", "--year", "2023", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


# --- 1. the share of a named chip -----------------------------------------------------------------


def test_one_thread_of_a_76_thread_chip_is_charged_its_share(capsys):
    row = cpu_row("Intel Xeon Platinum 8368Q")
    tdp, threads = float(row["tdp_w"]), float(row["threads"])
    assert (tdp, threads) == (270.0, 76.0)  # CodeCarbon TDP; SPECpower: 38 cores x 2 threads per chip
    # at full load the model draws TDP x share: 270 x 1/76 W and 270 x 76/76 W, for one hour
    args = ("--region", "GB", "--cpu-model", "Intel Xeon Platinum 8368Q", "--cpu-util", "1")
    one = estimate_json(capsys, *args, "--cpus", "1")
    whole = estimate_json(capsys, *args, "--cpus", "76")
    assert one["breakdown"]["cpu_kwh"] == pytest.approx(tdp * 1 / threads / 1000)
    assert whole["breakdown"]["cpu_kwh"] == pytest.approx(tdp / 1000)
    assert whole["breakdown"]["cpu_kwh"] / one["breakdown"]["cpu_kwh"] == pytest.approx(76)
    # --threads-per-chip overrides the table: 1 of 38 threads
    given = estimate_json(capsys, *args, "--cpus", "1", "--threads-per-chip", "38")
    assert given["breakdown"]["cpu_kwh"] == pytest.approx(tdp / 38 / 1000)


def test_unknown_thread_count_is_a_warned_wide_fallback_not_a_whole_chip():
    row = cpu_row("Intel Xeon Gold 6248")
    assert row["threads"] == ""  # no source gives its threads
    tdp = float(row["tdp_w"])
    per_thread = constant("default_cpu_tdp_w_per_thread")
    model = power_model(carbon.Hardware(vcpus=4, cpu_model="Intel Xeon Gold 6248"))
    assert any("threads per chip" in w and "--threads-per-chip" in w for w in model.warnings)
    # TDP at full load: 4 threads x the median W per thread, up to the whole chip at the high end
    full = model.cpu_power_w(1.0)
    assert full.central == pytest.approx(4 * float(per_thread["value"]))
    assert full.low == pytest.approx(4 * float(per_thread["value_low"]))
    assert full.high == pytest.approx(max(tdp, 4 * float(per_thread["value_high"])))
    assert full.central < tdp


def test_hardware_map_threads_override(tmp_path):
    from carbon.batch.hardware import load_map, resolve
    from carbon.regions import resolve as resolve_region

    path = tmp_path / "map.toml"
    path.write_text('[partitions.cpu]\ncpu_model = "Intel Xeon Gold 6248"\ncpus = 40\nthreads = 40\n')
    hardware, how = resolve(None, "cpu", resolve_region("FR"), load_map(path))
    assert how == "map" and hardware.threads_per_chip == 40
    # 40 of 40 threads: one whole 150 W chip at full load
    assert power_model(hardware).cpu_power_w(1.0).central == pytest.approx(
        float(cpu_row("Intel Xeon Gold 6248")["tdp_w"])
    )


# --- 2. derived coefficients at the instance level ------------------------------------------------


def test_m8a_large_is_within_a_factor_1_5_of_m7a_large():
    """Same load, same memory (8 GiB): EPYC 5th Gen per-thread figures are now the runs', not 3.68/8.96."""
    for util in (0.0, 0.5, 1.0):
        m7a = carbon.estimate("aws:us-east-1", instance_type="m7a.large", duration_s=3600, cpu_util=util)
        m8a = carbon.estimate("aws:us-east-1", instance_type="m8a.large", duration_s=3600, cpu_util=util)
        ratio = m8a.energy.it_kwh.central / m7a.energy.it_kwh.central
        assert 1 / 1.5 <= ratio <= 1.5, (util, ratio)
    # by hand at 50 %: 2 vCPUs x (min + 0.5 (max - min)) from microarchitectures.csv
    gen5 = arch_row("EPYC 5th Gen")
    expected = 2 * (gen5["min_w_per_thread"] + 0.5 * (gen5["max_w_per_thread"] - gen5["min_w_per_thread"]))
    m8a = carbon.estimate("aws:us-east-1", instance_type="m8a.large", duration_s=3600, cpu_util=0.5)
    assert m8a.energy.cpu_kwh.central == pytest.approx(expected / 1000)


# --- 3. Arm and accelerators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "region, instance, method",
    [
        ("gcp:us-central1", "c4a-standard-4", "Google Axion (proxy: Ampere Altra)"),
        ("gcp:us-central1", "t2a-standard-4", "Ampere Altra (7 SPECpower runs)"),
        ("azure:westeurope", "Standard_D4ps_v6", "Azure Cobalt 100 (proxy: Ampere Altra)"),
        ("aws:us-east-1", "trn1.32xlarge", "Ice Lake"),
        ("aws:us-east-1", "inf2.xlarge", "EPYC 3rd Gen"),
        ("aws:us-east-1", "m7g.large", "Graviton3 (proxy: Ampere Altra)"),
    ],
)
def test_arm_and_accelerator_instances_have_a_named_method(region, instance, method):
    result = carbon.estimate(region, instance_type=instance, duration_s=3600, cpu_util=0.5, gpu_util=0.5)
    cpu = next(s for s in result.sources if s.factor == "cpu_power")
    assert cpu.method == "dataset" and cpu.detail.startswith(method), cpu.detail
    assert "W per core" not in cpu.detail and not any("default power per core" in w for w in result.warnings)
    # the Arm proxies carry a range wider than the chip they borrow from
    if "proxy" in method:
        altra, own = arch_row("Ampere Altra"), arch_row(method.split(" (")[0])
        assert own["max_high"] > altra["max_high"] and own["min_low"] < altra["min_low"]


@pytest.mark.parametrize(
    "instance, chips, name", [("trn1.32xlarge", 16, "AWS Trainium"), ("inf2.xlarge", 1, "AWS Inferentia2")]
)
def test_accelerators_without_published_power_warn_and_take_the_default_range(instance, chips, name):
    result = carbon.estimate("aws:us-east-1", instance_type=instance, duration_s=3600, gpu_util=1.0, cpu_util=0.5)
    assert result.hardware.gpu_count == chips and result.hardware.gpu_model == name
    assert any(w.startswith(f"unknown accelerator {name!r}") for w in result.warnings)
    tdp = constant("default_gpu_tdp_w")
    # at 100 %: chips x TDP, central 200 W, low 100 % x half... the ends come from the default's range
    assert result.energy.gpu_kwh.central == pytest.approx(chips * float(tdp["value"]) / 1000)
    assert result.energy.gpu_kwh.low < result.energy.gpu_kwh.central < result.energy.gpu_kwh.high
    assert result.energy.gpu_kwh.high == pytest.approx(chips * float(tdp["value_high"]) / 1000)


def test_tpu_v4_has_its_published_power_and_later_tpus_warn():
    v4 = power_model(carbon.Hardware(vcpus=8, gpu_model="TPU v4", gpu_count=4))
    assert v4.gpu_power_w(1.0).central == pytest.approx(4 * 170)  # Green Algorithms: TPU v4, 170 W
    for name in ("TPU v5e", "TPU v5p", "TPU v6e"):
        model = power_model(carbon.Hardware(vcpus=8, gpu_model=name, gpu_count=1))
        assert any(w.startswith(f"unknown accelerator {name!r}") for w in model.warnings)
        assert model.gpu_power_w(1.0).low < model.gpu_power_w(1.0).high


def test_k80_is_charged_per_gpu_not_per_board():
    # mlco2: Tesla K80 300 W, a board with two GK210 GPUs; p2.xlarge has one of them
    result = carbon.estimate("aws:us-east-1", instance_type="p2.xlarge", duration_s=3600, gpu_util=1.0, cpu_util=0.5)
    assert result.hardware.gpu_count == 1
    assert result.energy.gpu_kwh.central == pytest.approx(300 / 2 / 1000)


@pytest.mark.parametrize("family, members", [("A100", 6), ("H100", None)])
def test_gpu_family_names_resolve_to_a_range_over_the_family(family, members):
    rows = [r for r in table("gpus") if family.lower() in r["key"].split()]
    tdps = sorted(float(r["tdp_w"]) for r in rows)
    model = power_model(carbon.Hardware(vcpus=4, gpu_model=family, gpu_count=1))
    assert any(f"names a family of {len(rows)}" in w for w in model.warnings)
    assert (model.gpu_tdp_w.low, model.gpu_tdp_w.high) == (tdps[0], tdps[-1])
    if members:
        assert len(rows) == members


def test_cpu_family_name_takes_the_families_microarchitectures():
    model = power_model(carbon.Hardware(vcpus=4, cpu_model="AMD EPYC"))
    gens = [arch_row(f"EPYC {n} Gen") for n in ("1st", "2nd", "3rd", "4th", "5th")]
    assert model.cpu_method == "vcpu"
    assert model.max_w_per_vcpu.central == pytest.approx(sum(g["max_w_per_thread"] for g in gens) / 5)
    assert model.max_w_per_vcpu.high == pytest.approx(max(g["max_high"] for g in gens))


# --- 4. GPU ranges ---------------------------------------------------------------------------------


def test_a100_at_80_percent_is_a_real_range():
    row = next(r for r in table("gpus") if r["key"] == "a100 sxm4 80gb")
    tdp, idle = float(row["tdp_w"]), float(row["idle_w"])
    power = power_model(carbon.Hardware(vcpus=4, gpu_model="A100 SXM4 80GB", gpu_count=1)).gpu_power_w(0.8)
    assert power.central == pytest.approx(idle + 0.8 * (tdp - idle))
    # utilisation is not power share: half of it at the low end, 1.25 x (capped at TDP) at the high end
    assert power.high == pytest.approx(tdp)
    assert power.low < idle + 0.4 * (tdp - idle) + 1e-9
    assert power.high - power.low > 100


def test_unknown_gpu_has_a_real_range():
    tdp = constant("default_gpu_tdp_w")
    assert float(tdp["value_low"]) < float(tdp["value"]) < float(tdp["value_high"])
    power = power_model(carbon.Hardware(vcpus=4, gpu_count=1)).gpu_power_w(1.0)
    assert (power.low, power.high) == pytest.approx((float(tdp["value_low"]) * 0.5, float(tdp["value_high"])), rel=0.2)
    assert power.high / power.low > 3


# --- 5. memory in decimal GB -----------------------------------------------------------------------


def test_memory_is_decimal_gb_and_the_coefficient_is_per_gib():
    hardware = catalog.instance("aws", "m5.xlarge")  # 16 GiB
    assert hardware.memory_gb == pytest.approx(16 * GB_PER_GIB)
    assert power_model(hardware).ram_power_w().central == pytest.approx(16 * 0.392)


def test_cpu_model_path_does_not_depend_on_the_region(tmp_path, monkeypatch):
    """A VM whose cpuinfo says only 'AMD EPYC': the same CPU model and power with or without a region."""
    (tmp_path / "cpuinfo").write_text(
        "".join(f"processor\t: {i}\nmodel name\t: AMD EPYC\nphysical id\t: 0\ncore id\t: {i}\n\n" for i in range(4))
    )
    (tmp_path / "meminfo").write_text("MemTotal:       16384000 kB\n")
    monkeypatch.setenv("CARBON_PROC_ROOT", str(tmp_path))
    from carbon.providers.onprem import local_hardware as detected

    from carbon.tracker import local_hardware

    with_region = local_hardware()  # what `carbon run --region FR` models
    without = detected()[0]  # what provider detection reports when no region is given
    assert (with_region.cpu_model, with_region.vcpus) == (without.cpu_model, without.vcpus) == ("AMD EPYC", 4.0)
    assert with_region.memory_gb == pytest.approx(without.memory_gb) == pytest.approx(16384000 * 1024 / 1e9)
    a, b = power_model(with_region), power_model(without)
    assert a.cpu_power_w(0.5) == b.cpu_power_w(0.5)
    assert a.cpu_method == "vcpu" and not any("unknown CPU model" in w for w in a.warnings)


# --- 7. catalog coverage ---------------------------------------------------------------------------

# Types whose hardware no bundled source describes: Apple silicon Mac hosts (no SPECpower run, no
# TDP row), c2.8xlarge (CCF lists it with no platform)
# and boards with no published power; each warns.
KNOWN_GAPS = {"AWS Inferentia", "AWS Inferentia2", "AWS Trainium", "AWS Trainium2", "B300", "Radeon Pro V520"}


def _gap(row: dict[str, str]) -> bool:
    return row["cpu_model"].startswith("Apple") or row["instance_type"].startswith("mac")


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure"])
def test_every_catalog_type_resolves_without_a_fallback(provider):
    bundle.clear_cache()
    failures = []
    for row in table(f"instances_{provider}"):
        hardware = catalog.instance(provider, row["instance_type"])
        model = power_model(hardware)
        cpu = next(s for s in model.sources if s.factor == "cpu_power")
        warnings = [w for w in model.warnings if not any(repr(g) in w for g in KNOWN_GAPS)]
        if _gap(row) or row["instance_type"] == "c2.8xlarge":
            continue
        if cpu.method != "dataset" or warnings:
            failures.append((row["instance_type"], cpu.detail, warnings))
    assert not failures, failures[:10]


def test_a_partial_name_of_one_model_is_that_model():
    # "Xeon 8368Q" holds the words of one table row only: the row, not a one-member family
    model = power_model(carbon.Hardware(vcpus=1, cpu_model="Xeon 8368Q"))
    assert not any("family" in w for w in model.warnings)
    assert model.cpu_power_w(1.0).central == pytest.approx(270 / 76)
    gpu = power_model(carbon.Hardware(vcpus=1, gpu_model="B200", gpu_count=1))
    assert not gpu.warnings and gpu.gpu_power_w(1.0).central == pytest.approx(1000)  # NVIDIA HGX B200: 1000 W
