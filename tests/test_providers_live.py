"""Live instance-type lookups (EC2 through moto) and their on-disk cache."""

from __future__ import annotations

import pytest

moto = pytest.importorskip("moto")

from providers import live  # noqa: E402


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_describe_instance_types_then_cache(aws_credentials, tmp_path):
    with moto.mock_aws():
        hardware, method = live.aws_instance_type("c5.large", "us-east-1", cache_dir=tmp_path)
    # c5.large: 2 vCPUs, 4 GiB (EC2 compute-optimised instance page).
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (2.0, 4.0, 0)
    assert method == "live:ec2.describe_instance_types"
    again, method = live.aws_instance_type("c5.large", "us-east-1", cache_dir=tmp_path)  # no mock: must be cached
    assert again == hardware and method == "cache:ec2.describe_instance_types"


def test_gpu_instance_type_reports_its_gpus(aws_credentials, tmp_path):
    with moto.mock_aws():
        hardware, _ = live.aws_instance_type("p4d.24xlarge", "us-east-1", cache_dir=tmp_path)
    # p4d.24xlarge: 96 vCPUs, 1152 GiB, 8 NVIDIA A100 (EC2 accelerated-computing page).
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (96.0, 1152.0, 8)
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
    assert (hardware.vcpus, hardware.memory_gb, hardware.gpu_count) == (6.0, 112.0, 1)
