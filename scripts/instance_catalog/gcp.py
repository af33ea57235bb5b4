"""Google Compute Engine: machine types from Google's naming rules or from the Compute API.

Offline, every predefined type comes from `carbon.gcp_machine_types` (Google's documented
per-series shapes). Live, `machineTypes.aggregatedList` gives vCPUs, memory and attached GPUs
for every zone; the CPU platform still comes from the series rules, since the API does not say.
"""

from __future__ import annotations

import re
from argparse import Namespace
from collections.abc import Iterable, Mapping
from typing import Any

from carbon import gcp_machine_types as rules

from .ccf import Datasets
from .sources import pick
from .table import ApiError, CatalogError, CatalogRow, TableMeta

DEFAULT_TIMEOUT_S = 30.0

# Compute API accelerator type ids -> the model name the bundled gpus table uses.
ACCELERATOR_NAMES = {
    "nvidia-tesla-a100": rules.A100_40,
    "nvidia-a100-80gb": rules.A100_80,
    "nvidia-h100-80gb": rules.H100,
    "nvidia-h100-mega-80gb": rules.H100,
    "nvidia-h200-141gb": rules.H200,
    "nvidia-l4": rules.L4,
    "nvidia-tesla-t4": "T4",
    "nvidia-tesla-v100": "Tesla V100-SXM2-16GB",
    "nvidia-tesla-p100": "Tesla P100",
    "nvidia-tesla-p4": "Tesla P4",
    "nvidia-tesla-k80": "Tesla K80",
}


def family(name: str, series: str) -> str:
    """'n2-standard-8' -> 'n2-standard'; 'a2-highgpu-1g' -> 'a2-highgpu'; 'e2-micro' -> 'e2'."""
    match = re.match(r"(.+?)-\d", name)
    return match.group(1) if match else series


def rows_from_rules(names: Iterable[str] | None = None) -> list[CatalogRow]:
    rows = []
    for name in names if names is not None else rules.predefined_names():
        shape = rules.describe(name)
        if shape is None:
            raise CatalogError(f"{name!r} does not follow the machine-type rules")
        rows.append(
            _row(shape, shape.vcpus, shape.memory_gib, shape.gpu_model or "", shape.gpu_count, "gcp-machine-types-docs")
        )
    return rows


def _row(
    shape: rules.MachineShape, vcpus: float, memory_gib: float, gpu_model: str, gpu_count: float, source: str
) -> CatalogRow:
    return CatalogRow(
        instance_type=shape.name,
        family=family(shape.name, shape.series),
        vcpus=float(vcpus),
        memory_gib=memory_gib,
        cpu_microarchitecture=shape.microarchitecture or "",
        cpu_model=shape.cpu_model or "",
        gpu_model=gpu_model if gpu_count else "",
        gpu_count=gpu_count,
        burstable_baseline_fraction=shape.burstable_baseline_fraction,
        source=source,
    )


def fetch(
    project: str, credentials: Any = None, api_endpoint: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[dict[str, Any], dict[str, str]]:
    """(machine types by name, accelerator type id -> description), first answer per name in zone order.

    `credentials` default to Application Default Credentials; `api_endpoint` (e.g. a private
    endpoint or a local double, `http://127.0.0.1:8080`) overrides compute.googleapis.com.
    """
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    try:
        return _fetch(project, credentials, api_endpoint, timeout_s)
    except (GoogleAPIError, GoogleAuthError) as exc:
        raise ApiError(f"GCP Compute API: {exc}") from exc


def _fetch(project: str, credentials: Any, api_endpoint: str | None, timeout_s: float):
    from google.cloud import compute_v1

    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    machine_client = compute_v1.MachineTypesClient(credentials=credentials, transport="rest", client_options=options)
    accel_client = compute_v1.AcceleratorTypesClient(credentials=credentials, transport="rest", client_options=options)
    machine_types: dict[str, Any] = {}
    pager = machine_client.aggregated_list(
        request=compute_v1.AggregatedListMachineTypesRequest(project=project), timeout=timeout_s
    )
    for _scope, scoped in sorted(pager, key=lambda item: item[0]):
        for machine in scoped.machine_types:
            machine_types.setdefault(machine.name, machine)
    accelerators: dict[str, str] = {}
    pager = accel_client.aggregated_list(
        request=compute_v1.AggregatedListAcceleratorTypesRequest(project=project), timeout=timeout_s
    )
    for _scope, scoped in sorted(pager, key=lambda item: item[0]):
        for accel in scoped.accelerator_types:
            accelerators.setdefault(accel.name, accel.description)
    return machine_types, accelerators


def accelerator_model(type_id: str, descriptions: Mapping[str, str]) -> str:
    if type_id in ACCELERATOR_NAMES:
        return ACCELERATOR_NAMES[type_id]
    description = descriptions.get(type_id, type_id)
    return re.sub(r"^NVIDIA\s+", "", description).strip() or type_id


def rows_from_api(
    machine_types: Mapping[str, Any], accelerators: Mapping[str, str]
) -> tuple[list[CatalogRow], list[str]]:
    """Rows for the API's types, and the names the series rules do not know (listed without a CPU platform)."""
    rows, unknown = [], []
    for name in sorted(machine_types):
        machine = machine_types[name]
        shape = rules.describe(name)
        if shape is None:
            unknown.append(name)
            shape = rules.MachineShape(name=name, series=name.split("-", 1)[0], vcpus=0, memory_gib=0)
        gpu_model, gpu_count = "", 0
        for accel in machine.accelerators:
            gpu_model = accelerator_model(accel.guest_accelerator_type, accelerators)
            gpu_count += accel.guest_accelerator_count
        if machine.is_shared_cpu and shape.burstable_baseline_fraction is None:
            unknown.append(name)
        rows.append(_row(shape, machine.guest_cpus, machine.memory_mb / 1024, gpu_model, gpu_count, "gcp-compute-api"))
    return rows, unknown


def build(args: Namespace, datasets: Datasets | None, retrieved: str) -> tuple[list[CatalogRow], TableMeta]:
    del datasets  # the series rules carry the CPU platforms
    if args.from_bundle_sources:
        rows, used = rows_from_rules(), ("gcp-machine-types-docs",)
    else:
        machine_types, accelerators = fetch(
            args.project, timeout_s=args.timeout, api_endpoint=getattr(args, "api_endpoint", None)
        )
        rows, unknown = rows_from_api(machine_types, accelerators)
        if unknown:
            import sys

            print(
                f"update_instance_catalog: warning: no series rule for {', '.join(unknown)} "
                "(listed without CPU platform or baseline)",
                file=sys.stderr,
            )
        used = ("gcp-compute-api", "gcp-machine-types-docs")
    meta = TableMeta(
        provider="gcp",
        description="Google Compute Engine predefined machine types: vCPUs, memory, CPU platform (CCF "
        "microarchitecture names), fixed GPUs of A2/A3/G2, shared-core baselines",
        sources=pick(*used, retrieved=retrieved),
        licence="facts (machine specifications) from Google Cloud documentation (CC BY 4.0)",
        years=(2025,) if args.from_bundle_sources else (int(retrieved[:4]),),
    )
    return rows, meta
