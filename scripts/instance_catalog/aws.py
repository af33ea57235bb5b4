"""AWS EC2: DescribeInstanceTypes in every region, enriched with CPU models from CCF/Teads.

The EC2 API gives vCPUs, memory, GPUs and burstability but no CPU model, so the CPU model
comes from CCF's 2026 instance list and the Teads dataset (by type, else by family when all
listed sizes of the family agree) and the microarchitecture from `cpu_arch`. Types CCF still
lists but the API no longer offers (p3, p2, g3: retired, yet in old bills) are kept from CCF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ccf import Datasets, number
from .cpu_arch import architecture, normalise_ccf_app
from .table import ApiError, CatalogRow

DEFAULT_TIMEOUT_S = 30.0

# (API GPU name, memory MiB or None for any) -> the model name the bundled gpus table uses.
_GPU_NAMES = {
    ("A100", 40960): "A100 SXM4 40GB",
    ("A100", 81920): "A100 SXM4 80GB",
    ("H100", None): "H100 SXM",
    ("H200", None): "H200 SXM",
    ("V100", 16384): "Tesla V100-SXM2-16GB",
    ("V100", 32768): "Tesla V100-SXM2-32GB",
    ("T4g", None): "T4",
}
# CCF application GPU names (retired types only the CCF table still lists) -> gpus-table names.
_CCF_GPU_NAMES = {
    "Nvidia Tesla V100": "Tesla V100-SXM2-16GB",
    "Nvidia Tesla K80": "Tesla K80",
    "Nvidia Tesla M60": "Tesla M60",
    "Nvidia K520": "GRID K520",
    "Nvidia T4": "T4",
    "Nvidia A10G": "A10G",
    "Nvidia Tesla A100": "A100 SXM4 40GB",
    "AMD Radeon Pro V520": "Radeon Pro V520",
    "Nvidia Tesla P4": "Tesla P4",
    "Nvidia Tesla P100": "Tesla P100",
}
_VENDOR_PREFIX = {"xeon": "Intel", "core": "Intel", "epyc": "AMD", "graviton": "AWS", "graviton2": "AWS"}


def fetch(session: Any, regions: Iterable[str] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, dict]:
    """Every instance type any region offers, first answer per type in region order.

    `session` is a boto3 Session (credentials from the usual chain); `regions` defaults to every
    region DescribeRegions lists for the account.
    """
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _fetch(session, regions, Config, timeout_s)
    except (BotoCoreError, ClientError) as exc:
        raise ApiError(f"AWS EC2 API: {exc}") from exc


def _fetch(session: Any, regions: Iterable[str] | None, Config: Any, timeout_s: float) -> dict[str, dict]:
    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 5, "mode": "standard"})
    if regions is None:
        home = session.client("ec2", region_name=session.region_name or "us-east-1", config=config)
        regions = [r["RegionName"] for r in home.describe_regions()["Regions"]]
    types: dict[str, dict] = {}
    for region in sorted(regions):
        client = session.client("ec2", region_name=region, config=config)
        for page in client.get_paginator("describe_instance_types").paginate():
            for item in page["InstanceTypes"]:
                types.setdefault(item["InstanceType"], item)
    return types


def gpu_model_name(name: str, memory_mib: int | None) -> str:
    return _GPU_NAMES.get((name, memory_mib)) or _GPU_NAMES.get((name, None)) or name


def _gpus(item: Mapping[str, Any]) -> tuple[str, float]:
    """(model, count) of the GPUs or, failing them, the accelerators (Neuron devices: Trainium,
    Inferentia; other inference accelerators); a fractional count is a GPU partition (g6f: 1/8 of an L4)."""
    models, total = [], 0.0
    for gpu in item.get("GpuInfo", {}).get("Gpus", []):
        count = gpu.get("Count") or gpu.get("LogicalGpuCount", 0) * gpu.get("GpuPartitionSize", 1.0)
        models.append(gpu_model_name(gpu["Name"], gpu.get("MemoryInfo", {}).get("SizeInMiB")))
        total += count
    if not models:
        devices = item.get("NeuronInfo", {}).get("NeuronDevices") or item.get("InferenceAcceleratorInfo", {}).get(
            "Accelerators", []
        )
        for device in devices:
            vendor = device.get("Manufacturer", "AWS" if "NeuronDevices" in item.get("NeuronInfo", {}) else "")
            models.append(
                f"{vendor} {device['Name']}".strip() if not device["Name"].startswith(vendor) else device["Name"]
            )
            total += device.get("Count", 0)
    return "|".join(dict.fromkeys(models)), total


@dataclass(frozen=True)
class Enrichment:
    """Hardware facts the API does not give, by instance type and by family."""

    cpu_model: Mapping[str, str] = field(default_factory=dict)
    architectures: Mapping[str, str] = field(default_factory=dict)
    baseline_fraction: Mapping[str, float] = field(default_factory=dict)
    extra_rows: tuple[CatalogRow, ...] = ()
    sources: tuple[str, ...] = ()

    def family_value(self, table: Mapping[str, str], family: str) -> str:
        values = {v for k, v in table.items() if k.split(".", 1)[0] == family and v}
        return values.pop() if len(values) == 1 else ""

    def generation_architectures(self, family: str) -> str:
        """Architectures of the same generation and processor letter (AWS naming: c8ib ~ m8i, r8i).

        AWS names families <class><generation><processor: i Intel, a AMD, g Graviton><options>; sizes of
        one generation and processor share the platform, so a new variant inherits its siblings' CPUs.
        """
        key = _generation_key(family)
        if key is None:
            return ""
        found = sorted(
            {
                arch
                for name, arch in self.architectures.items()
                if arch and _generation_key(name.split(".", 1)[0]) == key
            }
        )
        return _merge_archs(*found)


def _generation_key(family: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"[a-z]+?(\d+)([iag])[a-z]*", family)
    return (match.group(1), match.group(2)) if match else None


def _with_vendor(cpu: str) -> str:
    first = cpu.split(" ", 1)[0].lower()
    return f"{_VENDOR_PREFIX[first]} {cpu}" if first in _VENDOR_PREFIX else cpu


def _merge_archs(*groups: str) -> str:
    return normalise_ccf_app("|".join(g for g in groups if g))


def enrichment_from_datasets(datasets: Datasets) -> Enrichment:
    latest = datasets.ccf(
        "aws-instances-latest-2026.csv", ("Instance Type", "vCPUs", "Memory (GiB)", "Platform CPU Name")
    )
    app = datasets.derived(
        "ccf_app_aws_ec2_instance_types.csv",
        (
            "instance_type",
            "vcpus",
            "memory_gb",
            "cpu_microarchitectures",
            "gpu_count",
            "gpu_models",
            "burstable_baseline_utilization_pct",
        ),
    )
    teads = {
        row["Instance type"]: _with_vendor(row["Platform CPU Name"])
        for row in datasets.teads()
        if row["Platform CPU Name"]
    }
    recent = {
        row["Instance Type"]: row["Platform CPU Name"]
        for row in latest
        if row["Platform CPU Name"] and row["Platform CPU Name"] != "Intel Xeon Family"
    }
    # Teads names a model for its (documented) types; the 2026 list, of undocumented origin, fills the rest.
    # Where the two disagree (r5d: 8175M vs 8259CL) both architectures are kept as possible.
    cpu = {**recent, **teads}
    app_archs = {row["instance_type"]: normalise_ccf_app(row["cpu_microarchitectures"]) for row in app}
    archs = {
        t: _merge_archs(
            *(architecture(names.get(t, ""), datasets.ccf_data) for names in (teads, recent)), app_archs.get(t, "")
        )
        for t in sorted(set(cpu) | set(app_archs))
    }
    baseline = {
        row["instance_type"]: float(row["burstable_baseline_utilization_pct"]) / 100
        for row in app
        if row["burstable_baseline_utilization_pct"]
    }
    extra: dict[str, CatalogRow] = {}
    for row in app:
        name, gpu_count = row["instance_type"], number(row["gpu_count"]) or 0
        gpu = "|".join(_CCF_GPU_NAMES.get(g, g) for g in row["gpu_models"].split("|") if g) if gpu_count else ""
        extra[name] = CatalogRow(
            name,
            name.split(".", 1)[0],
            float(row["vcpus"]),
            float(row["memory_gb"]),
            archs.get(name, ""),
            cpu.get(name, ""),
            gpu,
            gpu_count,
            baseline.get(name),
            "ccf-app",
        )
    for row in latest:
        name = row["Instance Type"]
        if name not in extra and number(row["vCPUs"]) and number(row["Memory (GiB)"]):
            extra[name] = CatalogRow(
                name,
                name.split(".", 1)[0],
                number(row["vCPUs"]),
                number(row["Memory (GiB)"]),
                archs.get(name, ""),
                cpu.get(name, ""),
                source="ccf-coefficients",
            )
    return Enrichment(cpu, archs, baseline, tuple(extra.values()), ("ccf-app", "ccf-coefficients", "teads-ec2"))


def enrichment_from_catalog(rows: Iterable[Mapping[str, str]]) -> Enrichment:
    """Reuse a previous catalog's CPU facts when the raw datasets are not at hand."""
    rows = list(rows)
    return Enrichment(
        {r["instance_type"]: r["cpu_model"] for r in rows if r.get("cpu_model")},
        {r["instance_type"]: r["cpu_microarchitecture"] for r in rows if r.get("cpu_microarchitecture")},
        {
            r["instance_type"]: float(r["burstable_baseline_fraction"])
            for r in rows
            if r.get("burstable_baseline_fraction")
        },
    )


def to_rows(types: Mapping[str, Mapping[str, Any]], enrichment: Enrichment, source: str) -> list[CatalogRow]:
    """Catalog rows for the API's answer plus the CCF-only types the API did not list."""
    rows = []
    for name in sorted(types):
        item = types[name]
        family = name.split(".", 1)[0]
        gpu_model, gpu_count = _gpus(item)
        cpu = enrichment.cpu_model.get(name) or enrichment.family_value(enrichment.cpu_model, family)
        arch = (
            enrichment.architectures.get(name)
            or enrichment.family_value(enrichment.architectures, family)
            or enrichment.generation_architectures(family)
        )
        baseline = enrichment.baseline_fraction.get(name) if item.get("BurstablePerformanceSupported") else None
        rows.append(
            CatalogRow(
                instance_type=name,
                family=family,
                vcpus=float(item["VCpuInfo"]["DefaultVCpus"]),
                memory_gib=item["MemoryInfo"]["SizeInMiB"] / 1024,
                cpu_microarchitecture=arch,
                cpu_model=cpu,
                gpu_model=gpu_model,
                gpu_count=gpu_count,
                burstable_baseline_fraction=baseline,
                source=source,
            )
        )
    rows.extend(r for r in enrichment.extra_rows if r.instance_type not in types)
    return rows


def burstable_without_baseline(types: Mapping[str, Mapping[str, Any]], enrichment: Enrichment) -> list[str]:
    """Burstable types with no documented baseline (worth a warning: they are priced as full vCPUs)."""
    return sorted(
        n
        for n, item in types.items()
        if item.get("BurstablePerformanceSupported") and n not in enrichment.baseline_fraction
    )


def existing_rows(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fetch_from_moto(regions: Iterable[str] | None = None) -> dict[str, dict]:
    """The same SDK path answered by moto's EC2 mock, which packages AWS's published instance data."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(aws_access_key_id="moto", aws_secret_access_key="moto", region_name="us-east-1")
        return fetch(session, regions)
