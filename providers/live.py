"""Live instance-type lookups through the providers' SDKs, for types the bundled catalog lacks.

Used only when the SDK extra is installed and the user has credentials; answers are cached on
disk (diskcache, under the configured cache folder) because instance shapes never change.
Every SDK is imported inside the function that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from carbon.errors import NetworkError
from carbon.model import Hardware
from carbon.units import gib_to_gb, mib_to_gb

CACHE_EXPIRE_S = 90 * 24 * 3600
LIVE_TIMEOUT_S = 10.0  # the SDKs' own connect and per-read timeouts
LIVE_DEADLINE_S = 20.0  # the whole lookup: an SDK's per-read timeout restarts with every byte


class LiveLookupUnavailable(NetworkError):
    """The lookup cannot be made here (SDK missing, no credentials, API error); the message says which."""


def cached(
    provider: str, api: str, instance_type: str, fetch: Callable[[], Hardware | None], cache_dir: Path | None = None
) -> tuple[Hardware | None, str]:
    """`fetch()` once per (provider, type), then from the on-disk cache; never longer than LIVE_DEADLINE_S."""
    fetch = _within(fetch, LIVE_DEADLINE_S, f"{provider} {api}")
    try:
        import diskcache
    except ImportError:  # pragma: no cover - a core dependency
        return fetch(), f"live:{api}"
    if cache_dir is None:
        from carbon.config import load

        cache_dir = load().resolved_cache_dir()
    key = f"instance-type:{provider}:{instance_type.lower()}"
    with diskcache.Cache(str(Path(cache_dir) / "instance-types")) as cache:
        stored = cache.get(key)
        if stored is not None:
            return Hardware(**stored), f"cache:{api}"
        hardware = fetch()
        if hardware is not None:
            cache.set(key, asdict(hardware), expire=CACHE_EXPIRE_S)
        return hardware, f"live:{api}"


def _within(fetch: Callable[[], Hardware | None], seconds: float, what: str) -> Callable[[], Hardware | None]:
    """`fetch` with a total deadline: it runs on a daemon thread that is abandoned (the SDK's own
    timeouts end it later) if it has not answered in `seconds`, so that a server trickling its answer
    cannot hold detection."""

    def bounded() -> Hardware | None:
        import threading

        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["hardware"] = fetch()
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error

        worker = threading.Thread(target=call, name="carbon-live-lookup", daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            raise LiveLookupUnavailable(f"{what}: no answer within {seconds:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("hardware")

    return bounded


def aws_instance_type(
    instance_type: str, region: str | None, cache_dir: Path | None = None
) -> tuple[Hardware | None, str]:
    """EC2 DescribeInstanceTypes for one type."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise LiveLookupUnavailable(
            "boto3 is not installed (pip install 'carbon-ledger[aws]'); cannot look up the type live"
        ) from None
    session = boto3.session.Session(region_name=region or None)
    if session.get_credentials() is None:
        raise LiveLookupUnavailable("no AWS credentials; cannot look up the instance type live")

    def fetch() -> Hardware | None:
        try:
            client = session.client("ec2", region_name=region or session.region_name or "us-east-1")
            answer = client.describe_instance_types(InstanceTypes=[instance_type])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidInstanceType":
                return None
            raise LiveLookupUnavailable(f"EC2 DescribeInstanceTypes failed: {error}") from None
        except BotoCoreError as error:
            raise LiveLookupUnavailable(f"EC2 DescribeInstanceTypes failed: {error}") from None
        items = answer.get("InstanceTypes") or []
        return _aws_hardware(items[0]) if items else None

    return cached("aws", "ec2.describe_instance_types", instance_type, fetch, cache_dir)


def _aws_hardware(item: dict[str, Any]) -> Hardware:
    gpus = (item.get("GpuInfo") or {}).get("Gpus") or []
    gpu_count = sum(int(g.get("Count") or 0) for g in gpus)
    gpu_model = " ".join(filter(None, (gpus[0].get("Manufacturer"), gpus[0].get("Name")))) if gpus else None
    return Hardware(
        vcpus=float(item["VCpuInfo"]["DefaultVCpus"]),
        cpu_cores=(item.get("VCpuInfo") or {}).get("DefaultCores"),
        memory_gb=mib_to_gb(float(item["MemoryInfo"]["SizeInMiB"])),
        gpu_model=gpu_model,
        gpu_count=gpu_count,
        instance_type=item["InstanceType"],
        provider="aws",
    )


def gcp_machine_type(
    machine_type: str, project: str | None, zone: str | None, cache_dir: Path | None = None
) -> tuple[Hardware | None, str]:
    """Compute Engine machineTypes.get for one type in the instance's zone."""
    if not project or not zone:
        raise LiveLookupUnavailable("the GCP project or zone is unknown; cannot look up the machine type live")
    try:
        import google.auth
        from google.api_core import exceptions as api_exceptions
        from google.auth.exceptions import GoogleAuthError
        from google.cloud import compute_v1
    except ImportError:
        raise LiveLookupUnavailable(
            "google-cloud-compute is not installed (pip install 'carbon-ledger[gcp]')"
        ) from None
    try:
        google.auth.default()
    except GoogleAuthError as error:  # DefaultCredentialsError, TransportError, ...
        raise LiveLookupUnavailable(f"no Google credentials ({type(error).__name__})") from None

    # A private or proxied endpoint (and the tests' double) is named by CARBON_GCP_COMPUTE_ENDPOINT.
    endpoint = os.environ.get("CARBON_GCP_COMPUTE_ENDPOINT")
    options = {"api_endpoint": endpoint} if endpoint else None

    def fetch() -> Hardware | None:
        try:
            client = compute_v1.MachineTypesClient(transport="rest", client_options=options)
            found = client.get(project=project, zone=zone, machine_type=machine_type, timeout=LIVE_TIMEOUT_S)
        except api_exceptions.NotFound:
            return None
        except api_exceptions.GoogleAPIError as error:
            raise LiveLookupUnavailable(f"machineTypes.get failed: {error}") from None
        accelerators = list(found.accelerators or [])
        return Hardware(
            vcpus=float(found.guest_cpus),
            memory_gb=mib_to_gb(float(found.memory_mb)),  # the API's "memory_mb" is MiB
            gpu_model=accelerators[0].guest_accelerator_type if accelerators else None,
            gpu_count=sum(int(a.guest_accelerator_count) for a in accelerators),
            instance_type=machine_type,
            provider="gcp",
        )

    return cached("gcp", "compute.machineTypes.get", machine_type, fetch, cache_dir)


def azure_vm_size(
    vm_size: str, subscription_id: str | None, location: str | None, cache_dir: Path | None = None
) -> tuple[Hardware | None, str]:
    """Resource SKUs list filtered to the VM's location, then the one SKU by name."""
    if not subscription_id or not location:
        raise LiveLookupUnavailable("the Azure subscription or location is unknown; cannot look up the size live")
    try:
        from azure.core.exceptions import AzureError
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.compute import ComputeManagementClient
    except ImportError:
        raise LiveLookupUnavailable(
            "azure-mgmt-compute/azure-identity are not installed (pip install 'carbon-ledger[azure]')"
        ) from None

    # A sovereign cloud, a proxy (and the tests' double) is named by CARBON_AZURE_MANAGEMENT_ENDPOINT.
    endpoint = os.environ.get("CARBON_AZURE_MANAGEMENT_ENDPOINT")
    options: dict[str, Any] = {"connection_timeout": LIVE_TIMEOUT_S, "read_timeout": LIVE_TIMEOUT_S}
    if endpoint and endpoint.startswith("http://"):
        options["enforce_https"] = False  # only for an explicitly configured plain-HTTP endpoint

    def fetch() -> Hardware | None:
        try:
            credential = DefaultAzureCredential()
            client = (
                ComputeManagementClient(credential, subscription_id, base_url=endpoint)
                if endpoint
                else ComputeManagementClient(credential, subscription_id)
            )
            for sku in client.resource_skus.list(filter=f"location eq '{location}'", **options):
                if sku.resource_type == "virtualMachines" and (sku.name or "").lower() == vm_size.lower():
                    return _azure_hardware(
                        vm_size,
                        {c.name: c.value for c in sku.capabilities or [] if c.name is not None and c.value is not None},
                    )
        except AzureError as error:
            raise LiveLookupUnavailable(f"resource SKU lookup failed ({type(error).__name__})") from None
        return None

    return cached("azure", "compute.resource_skus.list", vm_size, fetch, cache_dir)


def _azure_hardware(vm_size: str, capabilities: dict[str, str]) -> Hardware:
    def number(name: str) -> float | None:
        try:
            return float(capabilities[name])
        except (KeyError, TypeError, ValueError):
            return None

    gpus = number("GPUs")
    memory_gib = number("MemoryGB")  # Azure's "GB" is GiB
    return Hardware(
        vcpus=number("vCPUs"),
        memory_gb=gib_to_gb(memory_gib) if memory_gib is not None else None,
        gpu_count=int(gpus or 0),
        instance_type=vm_size,
        provider="azure",
    )
