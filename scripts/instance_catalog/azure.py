"""Azure VM sizes: from Cloud Carbon Footprint's VM tables, or from the Resource SKUs API.

CCF spells sizes as the billing meter does ("D4s v5"); the catalog uses the ARM size name
("Standard_D4s_v5") that VM metadata, the SDK and Cost Management report. The SKU API gives
vCPUs, memory and GPU counts but neither the GPU model nor the CPU generation, so those come
from the GPU series table below and CCF's per-size microarchitectures.
"""

from __future__ import annotations

import re
from argparse import Namespace
from collections.abc import Iterable, Mapping
from typing import Any

from .ccf import Datasets, SourceDataError, number
from .cpu_arch import normalise_ccf_app
from .sources import pick
from .table import ApiError, CatalogRow, TableMeta

DEFAULT_TIMEOUT_S = 30.0

# GPU model by ARM size-name pattern (Azure GPU series pages: NC, NCv2, NCv3, NCasT4_v3, NC A100 v4,
# ND, NDv2, ND A100 v4, NDm A100 v4, ND H100 v5, NC H100 v5, NV, NVv3). First match wins.
GPU_SERIES = (
    (r"Standard_NC\d+ads_A100_v4", "A100 PCIe 80GB"),
    (r"Standard_ND\d+amsr_A100_v4", "A100 SXM4 80GB"),
    (r"Standard_ND\d+asr_v4", "A100 SXM4 40GB"),
    (r"Standard_ND\d+isr_H100_v5", "H100 SXM"),
    (r"Standard_ND\d+isr_H200_v5", "H200 SXM"),
    (r"Standard_NC\d+a?d?i?s_H100_v5", "H100 NVL"),
    (r"Standard_NC\d+as_T4_v3", "T4"),
    (r"Standard_N[CV]\d+adm?s_A10_v[45]", "A10"),
    (r"Standard_NC\d+r?s_v3", "Tesla V100-PCIE-16GB"),
    (r"Standard_NC\d+r?s_v2", "Tesla P100"),
    (r"Standard_NC\d+r?(?:_Promo)?", "Tesla K80"),
    (r"Standard_ND\d+rs_v2", "Tesla V100-SXM2-32GB"),
    (r"Standard_ND\d+r?s", "Tesla P40"),
    (r"Standard_NV\d+s?_v3", "Tesla M60"),
    (r"Standard_NV\d+(?:_Promo)?", "Tesla M60"),
)
# N-series sizes CCF lacks or lists without GPUs: name -> (vCPUs, memory GB, GPUs (a fraction is a
# partition: NVads A10 v5 gives 1/6 to 2 A10s), microarchitecture). From Microsoft Learn's
# GPU-accelerated size pages; sizes already in CCF keep CCF's vCPUs, memory and CPUs.
GPU_SIZES = {
    "Standard_NC24ads_A100_v4": (24, 220, 1, "EPYC 3rd Gen"),
    "Standard_NC48ads_A100_v4": (48, 440, 2, "EPYC 3rd Gen"),
    "Standard_NC96ads_A100_v4": (96, 880, 4, "EPYC 3rd Gen"),
    "Standard_NC40ads_H100_v5": (40, 320, 1, "EPYC 4th Gen"),
    "Standard_NC80adis_H100_v5": (80, 640, 2, "EPYC 4th Gen"),
    "Standard_ND96isr_H100_v5": (96, 1900, 8, "Sapphire Rapids"),
    "Standard_ND96isr_H200_v5": (96, 1850, 8, "Sapphire Rapids"),
    "Standard_NC8ads_A10_v4": (8, 100, 1, "EPYC 3rd Gen"),
    "Standard_NC16ads_A10_v4": (16, 200, 1, "EPYC 3rd Gen"),
    "Standard_NC32ads_A10_v4": (32, 400, 2, "EPYC 3rd Gen"),
    "Standard_NV6ads_A10_v5": (6, 55, 1 / 6, "EPYC 3rd Gen"),
    "Standard_NV12ads_A10_v5": (12, 110, 1 / 3, "EPYC 3rd Gen"),
    "Standard_NV18ads_A10_v5": (18, 220, 0.5, "EPYC 3rd Gen"),
    "Standard_NV36ads_A10_v5": (36, 440, 1, "EPYC 3rd Gen"),
    "Standard_NV36adms_A10_v5": (36, 880, 1, "EPYC 3rd Gen"),
    "Standard_NV72ads_A10_v5": (72, 880, 2, "EPYC 3rd Gen"),
}
# v6 series, newer than CCF's tables (Microsoft Learn size-series pages, general purpose and memory
# optimised): size letter + vCPUs + suffix -> GiB per vCPU over the listed vCPU counts, with the
# platform. Cobalt 100 is Azure's Arm (Neoverse N2) chip; Dasv6/Easv6/Fasv6 run AMD EPYC 9004
# (Genoa, EPYC 4th Gen); Dsv6/Esv6 Intel Xeon Platinum 8573C (Emerald Rapids).
V6_SERIES = (
    # (size prefix, suffix, vCPU counts, GiB per vCPU, microarchitecture, CPU model)
    ("D", "ps", (2, 4, 8, 16, 32, 48, 64, 96), 4, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("D", "pds", (2, 4, 8, 16, 32, 48, 64, 96), 4, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("D", "pls", (2, 4, 8, 16, 32, 48, 64, 96), 2, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("D", "plds", (2, 4, 8, 16, 32, 48, 64, 96), 2, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("E", "ps", (2, 4, 8, 16, 32, 48, 64), 8, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("E", "pds", (2, 4, 8, 16, 32, 48, 64), 8, "Azure Cobalt 100", "Azure Cobalt 100"),
    ("D", "as", (2, 4, 8, 16, 32, 48, 64, 96), 4, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("D", "ads", (2, 4, 8, 16, 32, 48, 64, 96), 4, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("D", "als", (2, 4, 8, 16, 32, 48, 64, 96), 2, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("D", "alds", (2, 4, 8, 16, 32, 48, 64, 96), 2, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("E", "as", (2, 4, 8, 16, 20, 32, 48, 64), 8, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("E", "ads", (2, 4, 8, 16, 20, 32, 48, 64), 8, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("F", "as", (2, 4, 8, 16, 32, 48, 64), 4, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("F", "als", (2, 4, 8, 16, 32, 48, 64), 2, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("F", "ams", (2, 4, 8, 16, 32, 48, 64), 8, "EPYC 4th Gen", "AMD EPYC 9V74"),
    ("D", "s", (2, 4, 8, 16, 32, 48, 64, 96, 128), 4, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
    ("D", "ds", (2, 4, 8, 16, 32, 48, 64, 96, 128), 4, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
    ("D", "ls", (2, 4, 8, 16, 32, 48, 64, 96, 128), 2, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
    ("D", "lds", (2, 4, 8, 16, 32, 48, 64, 96, 128), 2, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
    ("E", "s", (2, 4, 8, 16, 20, 32, 48, 64, 96, 128), 8, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
    ("E", "ds", (2, 4, 8, 16, 20, 32, 48, 64, 96, 128), 8, "Emerald Rapids", "Intel Xeon Platinum 8573C"),
)


def v6_rows() -> list[CatalogRow]:
    rows = []
    for letter, suffix, counts, gib_per_vcpu, arch, cpu in V6_SERIES:
        for vcpus in counts:
            name = f"Standard_{letter}{vcpus}{suffix}_v6"
            rows.append(
                CatalogRow(
                    instance_type=name,
                    family=family(name),
                    vcpus=float(vcpus),
                    memory_gib=float(vcpus * gib_per_vcpu),
                    cpu_microarchitecture=arch,
                    cpu_model=cpu,
                    source="azure-v6-sizes-docs",
                )
            )
    return rows


# Platforms of series for which no CCF table names one (Microsoft Learn previous-generation and
# GPU size pages, "processor" lines): family -> possible microarchitectures.
SERIES_PLATFORMS = {
    "GS": "Haswell",  # Xeon E5-2698B v3
    "Bs": "Haswell|Broadwell|Skylake|Cascade Lake",  # B-series v1 hosts: E5-2673 v3/v4, 8171M, 8272CL
    "Bms": "Haswell|Broadwell|Skylake|Cascade Lake",
    "Bls": "Haswell|Broadwell|Skylake|Cascade Lake",
    "A": "Sandy Bridge|Ivy Bridge|Haswell|Broadwell",  # E5-2660, E5-2673 v2/v3/v4
    "A_v2": "Sandy Bridge|Haswell|Broadwell|Skylake|Cascade Lake",  # E5-2660, E5-2673 v3/v4, 8171M, 8272CL
    "Am_v2": "Sandy Bridge|Haswell|Broadwell|Skylake|Cascade Lake",
    "NV": "Haswell",  # NV v1: E5-2690 v3
    "NC": "Haswell",  # NC v1: E5-2690 v3
    "NC_Promo": "Haswell",
    "NCr": "Haswell",
    "NCr_Promo": "Haswell",
    "NCs_v2": "Broadwell",  # E5-2690 v4
    "NCrs_v2": "Broadwell",
    "NCs_v3": "Broadwell",  # E5-2690 v4
    "NCrs_v3": "Broadwell",
    "NDs": "Broadwell",  # ND v1: E5-2690 v4
    "NDrs": "Broadwell",
    "NDasr_v4": "EPYC 2nd Gen",  # ND A100 v4: EPYC 7V12
    "NDamsr_A100_v4": "EPYC 2nd Gen",
    "NPs": "Skylake",  # NP (FPGA): Xeon 8171M
}

# CCF names that are not the ARM size name once prefixed (the ND A100 v4 size drops "A100").
_ARM_RENAMES = {"Standard_ND96asr_A100_v4": "Standard_ND96asr_v4"}
_SIZE = re.compile(r"([A-Za-z]+?)(\d+)(-\d+)?([A-Za-z]*)")


def arm_name(ccf_name: str) -> str | None:
    """'D4s v5' -> 'Standard_D4s_v5'; 'B1MS' -> 'Standard_B1ms'; billing-only spellings -> None."""
    parts = ccf_name.split()
    if not parts:
        return None
    if len(parts) > 1 and parts[-1].isdigit():  # "D15i v2 1": a meter variant of D15i v2
        parts = parts[:-1]
    match = _SIZE.fullmatch(parts[0])
    if not match:
        return None
    prefix, digits, constrained, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    size = f"{prefix.upper()}{digits}{constrained}{suffix.lower()}"
    name = "_".join(["Standard_" + size, *parts[1:]])
    return _ARM_RENAMES.get(name, name)


def gpu_model(name: str) -> str:
    for pattern, model in GPU_SERIES:
        if re.fullmatch(pattern, name):
            return model
    return ""


def family(name: str) -> str:
    """'Standard_D4s_v5' -> 'Ds_v5'; 'Standard_NC24ads_A100_v4' -> 'NCads_A100_v4'; 'Standard_B1ms' -> 'Bms'."""
    parts = name.removeprefix("Standard_").split("_")
    match = _SIZE.fullmatch(parts[0])
    head = f"{match.group(1)}{match.group(4)}" if match else parts[0]
    return "_".join([head, *parts[1:]])


def rows_from_ccf(datasets: Datasets) -> tuple[list[CatalogRow], list[str]]:
    """One row per ARM size across CCF's Azure tables; also the CCF names that are not VM sizes."""
    app = datasets.derived(
        "ccf_app_azure_vm_types.csv", ("series", "vm_type", "vcpus", "memory_gb", "cpu_microarchitectures", "gpu_count")
    )
    processors = datasets.derived("ccf_app_azure_vmtype_processors.csv", ("vm_type", "cpu_microarchitectures"))
    constrained = datasets.derived("ccf_app_azure_constrained_vcpu.csv", ("vm_type", "vcpus", "memory_gb"))
    coeff = datasets.ccf(
        "azure-instances.csv",
        ("Series", "Virtual Machine", "Microarchitecture", "Instance vCPUs", "Instance Memory", "Instance GPUs"),
    )
    sizes: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []

    def entry(ccf_name: str, series: str = "") -> dict[str, Any] | None:
        # SAP HANA Large Instances are bare-metal units billed under their own names (S384xm), not ARM sizes.
        name = ccf_name if "Large Instances" in series else arm_name(ccf_name)
        if name is None:
            skipped.append(ccf_name)
            return None
        return sizes.setdefault(name.lower(), {"name": name, "archs": [], "gpus": None})

    # The same facts under each table's own column names: size, series, vCPUs, memory, platform, GPUs.
    for rows, columns in (
        (app, ("vm_type", "series", "vcpus", "memory_gb", "cpu_microarchitectures", "gpu_count")),
        (
            coeff,
            ("Virtual Machine", "Series", "Instance vCPUs", "Instance Memory", "Microarchitecture", "Instance GPUs"),
        ),
    ):
        for row in rows:
            size, series, vcpus, memory_gb, arch, gpus = (row[column] for column in columns)
            item = entry(size, series)
            if item is not None:
                item.setdefault("vcpus", number(vcpus))
                item.setdefault("memory_gb", number(memory_gb))
                item["archs"].append(arch)
                item["gpus"] = item["gpus"] or number(gpus)
    for row in constrained:
        item = entry(row["vm_type"])
        if item is not None:
            item["vcpus"] = number(row["vcpus"])  # the constrained size's own vCPUs, not the platform's
            item.setdefault("memory_gb", number(row["memory_gb"]))
    for row in processors:
        item = sizes.get((arm_name(row["vm_type"]) or "").lower()) or sizes.get(row["vm_type"].lower())
        if item is not None:
            item["archs"].append(row["cpu_microarchitectures"])
    _add_gpu_sizes(sizes)
    _fill_platforms_from_family(sizes)
    return _catalog_rows(sizes, skipped), sorted(set(skipped))


def _add_gpu_sizes(sizes: dict[str, dict[str, Any]]) -> None:
    """GPU sizes from Microsoft's size pages that CCF's tables miss (or list without GPUs)."""
    for name, (vcpus, memory_gb, gpus, arch) in GPU_SIZES.items():
        item = sizes.setdefault(
            name.lower(),
            {
                "name": name,
                "archs": [arch],
                "gpus": None,
                "vcpus": vcpus,
                "memory_gb": memory_gb,
                "source": "azure-gpu-sizes-docs",
            },
        )
        item["gpus"] = item["gpus"] or gpus


def _fill_platforms_from_family(sizes: dict[str, dict[str, Any]]) -> None:
    """A size CCF lists without a platform (constrained-vCPU sizes such as E8-4as_v4, older series)
    runs on its series' hardware: it takes the platforms its family's other sizes list."""
    by_family: dict[str, list[str]] = {}
    for item in sizes.values():
        by_family.setdefault(family(item["name"]), []).extend(a for a in item["archs"] if normalise_ccf_app(a))
    for item in sizes.values():
        if not normalise_ccf_app("|".join(item["archs"])):
            name = family(item["name"])
            item["archs"] = sorted(set(by_family.get(name, []))) or [SERIES_PLATFORMS.get(name, "")]


def _catalog_rows(sizes: dict[str, dict[str, Any]], skipped: list[str]) -> list[CatalogRow]:
    """One catalog row per size with a CPU count and memory; the others are added to `skipped`."""
    rows = []
    for item in sizes.values():
        if not item.get("vcpus") or not item.get("memory_gb"):
            skipped.append(item["name"])
            continue
        model = gpu_model(item["name"])
        count = item["gpus"] or 0
        rows.append(
            CatalogRow(
                instance_type=item["name"],
                family=family(item["name"]),
                vcpus=item["vcpus"],
                memory_gib=item["memory_gb"],
                cpu_microarchitecture=normalise_ccf_app("|".join(item["archs"])),
                gpu_model=model if count else "",
                gpu_count=count if model else 0,
                source=item.get("source", "ccf-app"),
            )
        )
    return rows


def _capabilities(sku: Any) -> dict[str, str]:
    return {c.name: c.value for c in (sku.capabilities or [])}


def fetch(
    credential: Any, subscription_id: str, base_url: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, dict[str, str]]:
    """virtualMachines SKUs by name (capabilities of the first location listed), across all locations."""
    from azure.core.exceptions import AzureError

    try:
        return _fetch(credential, subscription_id, base_url, timeout_s)
    except AzureError as exc:
        raise ApiError(f"Azure Resource SKUs API: {exc}") from exc


def _fetch(credential: Any, subscription_id: str, base_url: str | None, timeout_s: float) -> dict[str, dict[str, str]]:
    from azure.mgmt.compute import ComputeManagementClient

    kwargs: dict[str, Any] = {}
    if base_url and base_url.startswith("http://"):
        kwargs["enforce_https"] = False  # only for an explicitly configured plain-HTTP endpoint (a local double)
    client = (
        ComputeManagementClient(credential, subscription_id, base_url=base_url)
        if base_url
        else ComputeManagementClient(credential, subscription_id)
    )
    skus: dict[str, dict[str, str]] = {}
    for sku in client.resource_skus.list(connection_timeout=timeout_s, read_timeout=timeout_s, **kwargs):
        if sku.resource_type == "virtualMachines" and sku.name:
            skus.setdefault(sku.name, _capabilities(sku))
    return skus


def rows_from_api(skus: Mapping[str, Mapping[str, str]], known: Iterable[CatalogRow] = ()) -> list[CatalogRow]:
    """Rows for the API's sizes; microarchitectures reused from `known` rows (CCF) by size name."""
    archs = {row.instance_type.lower(): row.cpu_microarchitecture for row in known}
    rows = []
    for name in sorted(skus):
        caps = skus[name]
        vcpus = number(caps.get("vCPUsAvailable", "") or caps.get("vCPUs", ""))
        memory_gb = number(caps.get("MemoryGB", ""))
        if not vcpus or not memory_gb:
            continue
        gpus = number(caps.get("GPUs", "")) or 0
        model = gpu_model(name) or ("unknown GPU" if gpus else "")
        rows.append(
            CatalogRow(
                instance_type=name,
                family=family(name),
                vcpus=vcpus,
                memory_gib=memory_gb,
                cpu_microarchitecture=archs.get(name.lower(), ""),
                gpu_model=model if gpus else "",
                gpu_count=gpus,
                source="azure-skus-api",
            )
        )
    return rows


def build(args: Namespace, datasets: Datasets | None, retrieved: str) -> tuple[list[CatalogRow], TableMeta]:
    known: list[CatalogRow] = []
    if datasets is not None:
        known, skipped = rows_from_ccf(datasets)
        if skipped:
            import sys

            print(
                f"update_instance_catalog: note: {len(skipped)} CCF Azure names are not VM sizes or lack "
                f"vCPUs/memory and were left out: {', '.join(skipped)}",
                file=sys.stderr,
            )
    if args.from_bundle_sources:
        if datasets is None:
            raise SourceDataError("--from-bundle-sources for Azure needs --datasets (Cloud Carbon Footprint tables)")
        names = {r.instance_type.lower() for r in known}
        rows = known + [r for r in v6_rows() if r.instance_type.lower() not in names]
        used = ("ccf-app", "ccf-coefficients", "azure-gpu-sizes-docs", "azure-v6-sizes-docs", "azure-series-docs")
    else:
        from azure.identity import DefaultAzureCredential

        skus = fetch(DefaultAzureCredential(), args.subscription, getattr(args, "api_endpoint", None), args.timeout)
        rows, used = rows_from_api(skus, known + v6_rows()), ("azure-skus-api", "ccf-app", "azure-v6-sizes-docs")
    meta = TableMeta(
        provider="azure",
        description="Azure VM sizes (ARM names, e.g. Standard_D4s_v5): vCPUs, memory (GiB), CCF microarchitectures, "
        "GPU model and count of the N-series; v6 series (Cobalt 100, EPYC 9004, Xeon 8573C) from the size pages",
        sources=pick(*used, retrieved=retrieved),
        licence="Apache-2.0 (Cloud Carbon Footprint tables); VM specifications are facts",
        years=(2023,) if args.from_bundle_sources else (int(retrieved[:4]),),
    )
    return rows, meta
