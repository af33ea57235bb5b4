"""Live instance-type lookups (EC2 through moto) and their on-disk cache."""

from __future__ import annotations

import moto
import pytest
from carbon.providers import live

GIB = 2**30 / 10**9  # decimal GB per GiB: the providers state GiB, carbon keeps decimal GB


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_describe_instance_types_then_cache(aws_credentials, tmp_path):
    with moto.mock_aws():
        hardware, method = live.aws_instance_type("c5.large", "us-east-1", cache_dir=tmp_path)
    # c5.large: 2 vCPUs, 4 GiB (EC2 compute-optimised instance page).
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (2.0, pytest.approx(4.0 * GIB), 0)  # 4096 MiB
    assert method == "live:ec2.describe_instance_types"
    again, method = live.aws_instance_type("c5.large", "us-east-1", cache_dir=tmp_path)  # no mock: must be cached
    assert again == hardware and method == "cache:ec2.describe_instance_types"


def test_gpu_instance_type_reports_its_gpus(aws_credentials, tmp_path):
    with moto.mock_aws():
        hardware, _ = live.aws_instance_type("p4d.24xlarge", "us-east-1", cache_dir=tmp_path)
    # p4d.24xlarge: 96 vCPUs, 1152 GiB, 8 NVIDIA A100 (EC2 accelerated-computing page).
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (96.0, pytest.approx(1152.0 * GIB), 8)
    assert hardware.gpu_model == "NVIDIA A100"


def test_unknown_type_is_none_and_not_cached(aws_credentials, tmp_path):
    with moto.mock_aws():
        hardware, _ = live.aws_instance_type("zz9.plural", "us-east-1", cache_dir=tmp_path)
    assert hardware is None


def test_without_credentials_the_lookup_is_unavailable(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(live.LiveLookupUnavailable, match="credentials"):
        live.aws_instance_type("c5.large", "us-east-1", cache_dir=tmp_path)


def test_gcp_and_azure_need_their_context():
    with pytest.raises(live.LiveLookupUnavailable, match="project or zone"):
        live.gcp_machine_type("n2-standard-8", None, "europe-west4-a")
    with pytest.raises(live.LiveLookupUnavailable, match="subscription or location"):
        live.azure_vm_size("Standard_D4s_v3", None, "westeurope")


def test_azure_capabilities_become_hardware():
    hardware = live._azure_hardware("Standard_NC6s_v3", {"vCPUs": "6", "MemoryGB": "112", "GPUs": "1"})
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (6.0, pytest.approx(112.0 * GIB), 1)


def test_gcp_machine_type_looked_up_with_the_vms_service_account(monkeypatch, tmp_path):
    """On a VM, Application Default Credentials come from the metadata server's service-account
    token; machineTypes.get then answers for the type the catalog lacks, and the answer is cached."""
    from fixtures.gcp_compute_api import GcpComputeApi, machine_type

    from metadata_gcp import MetadataGcp

    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))  # no user credentials file
    with MetadataGcp(project="demo-project") as metadata:
        api = GcpComputeApi(project="demo-project", token=metadata.access_token).start()
        try:
            api.zones["europe-west4-a"] = [
                machine_type("europe-west4-a", "n9-future-12", 12, 49152, accelerators=[("nvidia-l4", 1)])
            ]
            monkeypatch.setenv("GCE_METADATA_HOST", metadata.host)
            monkeypatch.setenv("GCE_METADATA_IP", metadata.host)
            monkeypatch.setenv("CARBON_GCP_COMPUTE_ENDPOINT", api.url)
            hardware, method = live.gcp_machine_type(
                "n9-future-12", "demo-project", "europe-west4-a", cache_dir=tmp_path
            )
            assert method == "live:compute.machineTypes.get"
            # 12 vCPUs, memory_mb 49152 (MiB) = 48 GiB, one L4, as the API double was told.
            assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count, hardware.gpu_model) == (
                12.0,
                pytest.approx(48.0 * GIB),
                1,
                "nvidia-l4",
            )
            assert api.auth_headers[-1] == f"Bearer {metadata.access_token}"
            assert any(r.path.endswith("/service-accounts/default/token") for r in metadata.requests("GET"))
            missing, _ = live.gcp_machine_type("n9-nothing-2", "demo-project", "europe-west4-a", cache_dir=tmp_path)
            assert missing is None
            requests_before = len(api.auth_headers)
            again, method = live.gcp_machine_type("n9-future-12", "demo-project", "europe-west4-a", cache_dir=tmp_path)
            assert again == hardware and method == "cache:compute.machineTypes.get"
            assert len(api.auth_headers) == requests_before
        finally:
            api.stop()


def test_azure_vm_size_looked_up_with_the_vms_managed_identity(monkeypatch, tmp_path):
    """On a VM, DefaultAzureCredential takes the managed identity's token from IMDS; the Resource SKUs
    API then answers for the size the catalog lacks, and the answer is cached."""
    from fixtures.azure_compute_api import AzureComputeApi, vm_sku

    from imds_azure import ImdsAzure

    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_USERNAME",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "no-cli"))  # no az / azd / pwsh to fall back on
    subscription = "8d10da13-8125-4ba9-a717-bf7490507b3d"
    with ImdsAzure() as imds:
        api = AzureComputeApi(subscription=subscription, token=imds.access_token).start()
        try:
            api.skus = [
                vm_sku("Standard_D4s_v3", "westeurope", 4, 16),
                vm_sku("Standard_NF48_future", "westeurope", 48, 440, gpus=2),
            ]
            monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds.url)
            monkeypatch.setenv("CARBON_AZURE_MANAGEMENT_ENDPOINT", api.url)
            hardware, method = live.azure_vm_size(
                "Standard_NF48_future", subscription, "westeurope", cache_dir=tmp_path
            )
            assert method == "live:compute.resource_skus.list"
            # 48 vCPUs, 440 GB, 2 GPUs, as the API double was told.
            assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (48.0, pytest.approx(440.0 * GIB), 2)
            assert api.auth_headers[-1] == f"Bearer {imds.access_token}"
            assert any(r.path == "/metadata/identity/oauth2/token" for r in imds.requests("GET"))
            missing, _ = live.azure_vm_size("Standard_Nothing_v9", subscription, "westeurope", cache_dir=tmp_path)
            assert missing is None
            seen = len(api.auth_headers)
            again, method = live.azure_vm_size("Standard_NF48_future", subscription, "westeurope", cache_dir=tmp_path)
            assert again == hardware and method == "cache:compute.resource_skus.list" and len(api.auth_headers) == seen
        finally:
            api.stop()
