"""Detection end to end: DMI and environment decide, emulated clouds answer, the deadline holds.

Every cloud double is started and pointed at by its override variable in every test, so that a
test proves "no network call" by the doubles' empty request logs, not by trusting the code.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import types
from pathlib import Path

import pytest
from carbon.providers import detect_environment
from carbon.providers.base import load_providers

import dmi
from carbon.cli import main
from ecs_metadata import EcsMetadata
from fake_nvml import FakeGpu, make_nvml
from imds_aws import ImdsAws
from imds_azure import ImdsAzure
from metadata_gcp import MetadataGcp

# A hung double holds a request for 30 s; ending within deadline + SLACK_S proves the deadline cut it,
# with room for a loaded test machine. The exact figures are in benchmarks/detect.py.
SLACK_S = 0.5
HINT_VARIABLES = (
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_REGION",
    "ECS_CONTAINER_METADATA_URI_V4",
    "K_SERVICE",
    "CLOUD_RUN_JOB",
    "AWS_EC2_METADATA_DISABLED",
    "CARBON_REGION",
    "CARBON_GEOIP",
    "CARBON_DETECT_TIMEOUT",
    "CARBON_CONFIG",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_PROFILE",
)


GIB = 2**30 / 10**9  # decimal GB per GiB: providers state GiB, carbon keeps decimal GB


@pytest.fixture
def clouds():
    with ImdsAws() as aws, MetadataGcp() as gcp, ImdsAzure() as azure:
        yield types.SimpleNamespace(aws=aws, gcp=gcp, azure=azure)


@pytest.fixture
def host(tmp_path, monkeypatch, clouds):
    """An environment whose every metadata endpoint is a loopback double and whose /proc is fake."""
    for name in HINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no carbon.toml from the repository
    monkeypatch.setenv("CARBON_DATA_DIR", str(dmi.write_bundle(tmp_path / "bundle")))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CARBON_PROC_ROOT", str(dmi.write_proc(tmp_path / "proc")))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", clouds.aws.url)
    monkeypatch.setenv("GCE_METADATA_HOST", clouds.gcp.host)
    monkeypatch.setenv("CARBON_AZURE_IMDS_ENDPOINT", clouds.azure.url)
    monkeypatch.setenv("CARBON_DMI_ROOT", str(tmp_path / "no-dmi"))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML on the test machine: absent -> no GPUs
    dmi.clear_bundle_caches()
    yield tmp_path
    dmi.clear_bundle_caches()


def use_dmi(host: Path, monkeypatch, values: dict[str, str]) -> None:
    monkeypatch.setenv("CARBON_DMI_ROOT", str(dmi.write_dmi(host / "dmi", values)))


def network_calls(clouds) -> int:
    return len(clouds.aws.requests()) + len(clouds.gcp.requests()) + len(clouds.azure.requests())


def detect_json(capsys, *args: str) -> dict:
    assert main(["detect", "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("values", [dmi.LAPTOP, dmi.KVM, dmi.HYPERV_ONPREM])
def test_dmi_that_rules_out_clouds_makes_no_network_call(host, monkeypatch, clouds, values):
    use_dmi(host, monkeypatch, values)
    found = detect_environment(1.0)
    assert found.provider is None and found.service == "onprem"
    assert network_calls(clouds) == 0
    assert any("no network call" in line for line in found.evidence)


def test_aws_detected_from_dmi_asks_only_aws(host, monkeypatch, clouds, capsys):
    use_dmi(host, monkeypatch, dmi.AWS_NITRO)
    out = detect_json(capsys)
    assert (out["provider"], out["instance_type"], out["region"], out["zone"]) == (
        "aws",
        "m5.xlarge",
        "us-east-1",
        "us-east-1b",
    )
    # m5.xlarge: 4 vCPUs, 16 GiB (EC2 general-purpose instance page), from the catalog.
    assert out["hardware"]["vcpus"] == 4 and out["hardware"]["memory_gb"] == pytest.approx(16 * GIB)
    assert out["hardware_method"] == "catalog"
    assert out["grid_zone"] == "US-VA" and out["location"]["region"] == "aws:us-east-1"
    assert clouds.gcp.requests() == [] and clouds.azure.requests() == []
    assert {p["provider"] for p in out["probes"]} == {"aws"}


def test_xen_era_aws_dmi_is_recognised(host, monkeypatch, clouds):
    use_dmi(host, monkeypatch, dmi.AWS_XEN)
    assert detect_environment(1.0).provider == "aws"


def test_gcp_detected_with_custom_machine_type_resolved(host, monkeypatch, clouds, capsys):
    use_dmi(host, monkeypatch, dmi.GCE)
    out = detect_json(capsys)
    assert (out["provider"], out["instance_type"], out["region"], out["zone"]) == (
        "gcp",
        "n2-standard-8",
        "europe-west4",
        "europe-west4-a",
    )
    assert out["hardware"]["vcpus"] == 8 and out["hardware"]["memory_gb"] == pytest.approx(32 * GIB)
    assert out["grid_zone"] == "NL"
    assert clouds.aws.requests() == [] and clouds.azure.requests() == []


def test_gke_accelerator_label_adds_gpus(host, monkeypatch, clouds):
    use_dmi(host, monkeypatch, dmi.GCE)
    clouds.gcp.attributes["kube-labels"] = "cloud.google.com/gke-accelerator=nvidia-tesla-t4"
    found = detect_environment(1.0)
    hardware = found.hardware(live=False).hardware
    assert (hardware.gpu_model, hardware.gpu_count) == ("nvidia-tesla-t4", 1)


def test_cloud_run_from_environment(host, monkeypatch):
    monkeypatch.setenv("K_SERVICE", "api")
    with MetadataGcp(cloud_run=True, zone="europe-west4-a") as run:
        monkeypatch.setenv("GCE_METADATA_HOST", run.host)
        found = detect_environment(1.0)
    assert (found.provider, found.service, found.region, found.instance_type) == (
        "gcp",
        "cloud-run",
        "europe-west4",
        None,
    )


def test_azure_detected_from_asset_tag(host, monkeypatch, clouds, capsys):
    use_dmi(host, monkeypatch, dmi.AZURE)
    out = detect_json(capsys)
    assert (out["provider"], out["instance_type"], out["region"], out["zone"]) == (
        "azure",
        "Standard_D4s_v3",
        "westeurope",
        "1",
    )
    assert out["hardware"]["vcpus"] == 4 and out["hardware"]["memory_gb"] == pytest.approx(16 * GIB)
    assert out["grid_zone"] == "NL"
    assert clouds.aws.requests() == [] and clouds.gcp.requests() == []


@pytest.mark.parametrize(
    "cloud,expected", [("aws", "m5.xlarge"), ("gcp", "n2-standard-8"), ("azure", "Standard_D4s_v3")]
)
def test_unreadable_dmi_probes_concurrently_and_finds_the_one_cloud(host, monkeypatch, clouds, cloud, expected):
    # Only one double is a real service; the others are "not there" (hung, as link-local is off-cloud).
    for other in {"aws", "gcp", "azure"} - {cloud}:
        getattr(clouds, other).hang = True
    started = time.monotonic()
    found = detect_environment(3.0)
    assert (found.provider, found.instance_type) == (cloud, expected)
    assert time.monotonic() - started < 1.5  # the winner does not wait 3 s for the hung ones


def test_everything_hung_costs_no_more_than_the_deadline(host, clouds):
    for server in (clouds.aws, clouds.gcp, clouds.azure):
        server.hang = True
    started = time.monotonic()
    found = detect_environment(0.3)
    elapsed = time.monotonic() - started
    assert found.provider is None
    assert elapsed < 0.3 + SLACK_S
    assert {p.outcome for p in found.probes if p.provider != "onprem"} <= {"timed out", "not detected"}


def test_garbage_everywhere_is_not_a_cloud(host, clouds):
    for server in (clouds.aws, clouds.gcp, clouds.azure):
        server.garbage = True
    found = detect_environment(1.0)
    assert found.provider is None and all(not p.outcome.startswith("error") for p in found.probes)


def test_aws_dmi_with_hung_imds_still_says_aws_within_deadline(host, monkeypatch, clouds):
    use_dmi(host, monkeypatch, dmi.AWS_NITRO)
    clouds.aws.hang = True
    started = time.monotonic()
    found = detect_environment(0.3)
    assert time.monotonic() - started < 0.3 + SLACK_S
    assert found.provider == "aws" and found.instance_type == "m5.xlarge"  # Nitro DMI names the type
    assert found.region is None and any("CARBON_REGION" in w for w in found.warnings)


def test_imds_disabled_variable_skips_imds(host, monkeypatch, clouds):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clouds.gcp.hang = clouds.azure.hang = True
    found = detect_environment(0.3)
    assert found.provider is None and clouds.aws.requests() == []


def test_fargate_from_ecs_metadata(host, monkeypatch, clouds, capsys):
    with EcsMetadata(cpu_vcpus=1.0, memory_mib=2048) as ecs:
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", ecs.uri)
        monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE")
        out = detect_json(capsys)
    assert (out["provider"], out["service"], out["region"]) == ("aws", "ecs-fargate", "us-west-2")
    assert out["hardware"]["vcpus"] == 1.0 and out["hardware"]["memory_gb"] == pytest.approx(2.0 * GIB)  # 2048 MiB
    assert out["hardware_method"] == "provider-reported" and network_calls(clouds) == 0


def test_lambda_makes_no_network_call(host, monkeypatch, clouds):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    found = detect_environment(1.0)
    assert found.service == "lambda" and found.hardware().hardware.vcpus == pytest.approx(1.0)
    assert network_calls(clouds) == 0


def test_unknown_type_is_estimated_from_its_family_with_a_warning(host, monkeypatch, clouds):
    use_dmi(host, monkeypatch, dmi.AWS_NITRO)
    clouds.aws.values["instance-type"] = "m5.4xlarge"
    match = detect_environment(1.0).hardware(live=False)
    assert match.method == "family-estimate" and match.hardware.vcpus == 16
    assert match.hardware.memory_gb == pytest.approx(64 * GIB)  # m5 siblings have 4 GiB per vCPU
    assert any("not in the bundled catalog" in w for w in match.warnings)


def test_on_premises_hardware_and_region(host, monkeypatch, clouds, capsys):
    use_dmi(host, monkeypatch, dmi.LAPTOP)
    monkeypatch.setenv("CARBON_REGION", "FR")
    out = detect_json(capsys)
    assert out["provider"] is None and out["region"] == "FR" and out["grid_zone"] == "FR"
    assert out["hardware"]["cpu_model"] == "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
    assert out["hardware"]["vcpus"] == 4 and out["hardware"]["cpu_cores"] == 2
    assert out["hardware"]["memory_gb"] == pytest.approx(65536000 * 1024 / 1e9)
    assert out["hardware"]["gpu_count"] == 0


def test_on_premises_arm_cpuinfo_and_region_argument(host, monkeypatch):
    use_dmi(host, monkeypatch, dmi.LAPTOP)
    dmi.write_proc(host / "proc", cpuinfo=dmi.CPUINFO_ARM)
    found = detect_environment(1.0, region="NL")
    assert found.region == "NL" and found.reported_hardware.cpu_model == "BCM2835"
    assert found.reported_hardware.vcpus == 4 and found.reported_hardware.cpu_cores is None


def test_nvml_gpus_are_counted_through_the_library(host, monkeypatch):
    fake = make_nvml([FakeGpu(name="NVIDIA A100-SXM4-80GB", uuid=f"GPU-{i}") for i in range(2)])
    calls = []
    init, shutdown = fake.nvmlInit, fake.nvmlShutdown
    monkeypatch.setattr(fake, "nvmlInit", lambda: (calls.append("init"), init())[1])
    monkeypatch.setattr(fake, "nvmlShutdown", lambda: (calls.append("shutdown"), shutdown())[1])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    use_dmi(host, monkeypatch, dmi.LAPTOP)
    hardware = detect_environment(1.0).reported_hardware
    assert (hardware.gpu_model, hardware.gpu_count) == ("NVIDIA A100-SXM4-80GB", 2)
    assert calls == ["init", "shutdown"]


def test_geoip_is_opt_in_and_says_what_it_found(host, monkeypatch, clouds, caplog):
    from metadata_server import MetadataServer, Reply

    class GeoIp(MetadataServer):
        def route(self, seen):
            return Reply(
                200,
                json.dumps({"country_code": "FR", "region_code": "IDF"}).encode(),
                {"Content-Type": "application/json"},
            )

    use_dmi(host, monkeypatch, dmi.LAPTOP)
    with GeoIp() as geo:
        monkeypatch.setenv("CARBON_GEOIP_URL", geo.url + "/json/")
        assert detect_environment(1.0).region is None and geo.requests() == []
        monkeypatch.setenv("CARBON_GEOIP", "true")
        with caplog.at_level(logging.INFO, logger="carbon.providers.onprem"):
            found = detect_environment(1.0)
    assert found.region == "FR"  # FR-IDF has no grid data in the bundle: the country is used
    assert [r.getMessage() for r in caplog.records] == [f"geoip: {geo.url}/json/ says FR"]


def test_no_token_ever_appears_in_output(host, monkeypatch, clouds, capsys, caplog):
    use_dmi(host, monkeypatch, dmi.AWS_NITRO)
    caplog.set_level("DEBUG")
    for fmt in ("json", "text"):
        assert main(["detect", "--format", fmt]) == 0
    clouds.aws.expire_tokens()
    detect_environment(1.0)
    captured = capsys.readouterr()
    tokens = clouds.aws.issued_tokens()
    assert tokens
    everything = captured.out + captured.err + caplog.text
    assert not any(token in everything for token in tokens)
    assert "aws" in captured.out


def test_third_party_provider_through_the_registry(host, monkeypatch, clouds):
    module = types.ModuleType("carbon_test_provider")

    class Acme:
        name = "acme"

        def claims(self, facts):
            return facts.env("ACME_CLOUD") == "1"

        def detect(self, deadline, facts):
            from carbon.providers.base import Detection

            return Detection("acme", "acme.big", "fr-par", None, ("env: ACME_CLOUD=1",), source="acme")

        def hardware(self, instance_type, *, detection=None, live=True):
            from carbon.providers.base import HardwareMatch

            from carbon.model import Hardware

            return HardwareMatch(Hardware(vcpus=64.0), "catalog")

        def location(self, region):
            from carbon.regions import resolve

            return resolve("FR")

    module.Acme = Acme
    monkeypatch.setitem(sys.modules, "carbon_test_provider", module)
    targets = {
        "aws": "carbon.providers.aws:AwsProvider",
        "acme": "carbon_test_provider:Acme",
        "broken": "carbon_test_provider:Missing",
        "onprem": "carbon.providers.onprem:OnPremProvider",
    }
    loaded, errors = load_providers(targets)
    assert [p.name for p in loaded] == ["aws", "acme", "onprem"] and "broken" in errors[0]
    use_dmi(host, monkeypatch, dmi.LAPTOP)
    found = detect_environment(1.0, environ={**__import__("os").environ, "ACME_CLOUD": "1"}, providers=loaded)
    assert (found.provider, found.instance_type) == ("acme", "acme.big")
    assert network_calls(clouds) == 0


def test_installed_entry_points_name_the_four_built_in_providers():
    loaded, errors = load_providers()
    assert {"aws", "gcp", "azure", "onprem"} <= {p.name for p in loaded} and errors == []


def test_bad_timeout_is_a_usage_error(host, monkeypatch, capsys):
    monkeypatch.setenv("CARBON_DETECT_TIMEOUT", "soon")
    assert main(["detect"]) == 2
    assert "CARBON_DETECT_TIMEOUT" in capsys.readouterr().err


def test_gcp_custom_machine_type_resolves_by_rule(host, monkeypatch, clouds):
    pytest.importorskip("carbon.gcp_machine_types")
    use_dmi(host, monkeypatch, dmi.GCE)
    clouds.gcp.values["instance/machine-type"] = "projects/123456789012/machineTypes/n2-custom-8-32768"
    match = detect_environment(1.0).hardware(live=False)
    # n2-custom-8-32768: 8 vCPUs and 32,768 MB = 32 GB of memory, read from the name itself.
    assert (match.hardware.vcpus, match.hardware.memory_gb) == (8, pytest.approx(32 * GIB))


def test_broken_config_file_is_a_usage_error(host, monkeypatch, capsys):
    (host / "carbon.toml").write_text("region = [unclosed\n", encoding="utf-8")
    assert main(["detect", "--timeout", "0.2"]) == 2
    assert "carbon.toml" in capsys.readouterr().err


def test_slow_local_description_does_not_delay_a_cloud_answer(host, monkeypatch, clouds):
    def slow_init():
        time.sleep(2.0)  # an NVML that takes seconds to initialise

    fake = types.SimpleNamespace(nvmlInit=slow_init, nvmlShutdown=lambda: None, nvmlDeviceGetCount=lambda: 0)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    clouds.gcp.hang = clouds.azure.hang = True
    started = time.monotonic()
    found = detect_environment(3.0)
    # AWS answers in milliseconds; the deadline is 3 s and the local description 2 s: neither is waited for.
    assert found.provider == "aws" and time.monotonic() - started < 1.5


def test_geoip_is_never_asked_on_a_cloud(host, monkeypatch, clouds):
    from metadata_server import MetadataServer, Reply

    class GeoIp(MetadataServer):
        def route(self, seen):
            return Reply(200, b'{"country_code": "FR"}', {"Content-Type": "application/json"})

    monkeypatch.setenv("CARBON_GEOIP", "true")
    clouds.gcp.hang = clouds.azure.hang = True  # DMI unreadable: all probed, only AWS answers
    with GeoIp() as geo:
        monkeypatch.setenv("CARBON_GEOIP_URL", geo.url + "/json/")
        found = detect_environment(1.0)
        assert found.provider == "aws" and geo.requests() == []
