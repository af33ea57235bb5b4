"""Metadata clients against loopback doubles that speak each service's documented protocol."""

from __future__ import annotations

import sys
import time

import pytest
from carbon.providers import aws, azure, gcp
from carbon.providers.base import Deadline
from carbon.providers.http import MetadataBadResponse, MetadataTimeout, MetadataUnreachable, request

from ecs_metadata import EcsMetadata
from imds_aws import ImdsAws
from imds_azure import ImdsAzure
from metadata_gcp import MetadataGcp

# A hung double holds a request for 30 s; ending within deadline + SLACK_S proves the deadline cut it,
# with room for a loaded test machine. The exact figures are in benchmarks/detect.py.
SLACK_S = 0.5


@pytest.fixture
def imds():
    with ImdsAws() as server:
        yield server


# --- AWS IMDS -------------------------------------------------------------------------------


def test_imdsv2_token_flow_sends_ttl_and_token_headers(imds):
    client = aws.ImdsClient(imds.url)
    assert client.get("instance-type", Deadline.after(1)) == "m5.xlarge"
    assert client.get("placement/region", Deadline.after(1)) == "us-east-1"
    puts, gets = imds.requests("PUT"), imds.requests("GET")
    assert [p.path for p in puts] == ["/latest/api/token"]  # one session for both reads
    assert puts[0].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert all(g.headers["x-aws-ec2-metadata-token"] == imds.issued_tokens()[0] for g in gets)
    assert "x-forwarded-for" not in puts[0].headers
    assert client.version == "IMDSv2"


def test_expired_token_is_renewed_once(imds):
    client = aws.ImdsClient(imds.url)
    client.get("instance-type", Deadline.after(1))
    imds.expire_tokens()
    assert client.get("placement/availability-zone", Deadline.after(1)) == "us-east-1b"
    assert len(imds.requests("PUT")) == 2


def test_server_rejects_a_token_request_without_ttl_with_400(imds):
    answer = request("PUT", imds.url + "/latest/api/token", deadline=Deadline.after(1))
    assert answer.status == 400


def test_imdsv2_only_instance_refuses_v1_reads_but_client_uses_tokens():
    with ImdsAws(http_tokens="required") as server:
        assert request("GET", server.url + "/latest/meta-data/instance-type", deadline=Deadline.after(1)).status == 401
        assert aws.ImdsClient(server.url).get("instance-type", Deadline.after(1)) == "m5.xlarge"


@pytest.mark.parametrize("status", [403, 404, 405])
def test_token_put_403_404_405_falls_back_to_imdsv1(imds, status):
    imds.put_status = status
    client = aws.ImdsClient(imds.url)
    assert client.get("instance-type", Deadline.after(1)) == "m5.xlarge"
    assert client.version == "IMDSv1"
    assert "x-aws-ec2-metadata-token" not in imds.requests("GET")[0].headers


def test_token_put_400_is_an_error_not_a_fallback(imds):
    imds.put_status = 400
    with pytest.raises(aws.ImdsError):
        aws.ImdsClient(imds.url).get("instance-type", Deadline.after(1))
    assert imds.requests("GET") == []


def test_put_that_never_answers_falls_back_to_v1_within_the_deadline(imds):
    imds.hang_methods = {"PUT"}  # the response hop limit inside a container
    started = time.monotonic()
    client = aws.ImdsClient(imds.url)
    assert client.get("instance-type", Deadline.after(0.6)) == "m5.xlarge"
    assert time.monotonic() - started < 0.6 + SLACK_S
    assert client.version == "IMDSv1"


def test_v2_only_with_hung_put_fails_cleanly_within_deadline():
    with ImdsAws(http_tokens="required") as server:
        server.hang_methods = {"PUT"}
        started = time.monotonic()
        with pytest.raises(aws.ImdsError, match="requires a session token"):
            aws.ImdsClient(server.url).get("instance-type", Deadline.after(0.4))
        assert time.monotonic() - started < 0.4 + SLACK_S


def test_endpoint_override_and_disable_follow_the_sdk_variables():
    assert aws.imds_endpoint({}) == "http://169.254.169.254"
    assert aws.imds_endpoint({"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"}) == "http://127.0.0.1:9"
    assert aws.imds_endpoint({"AWS_EC2_METADATA_DISABLED": "TRUE"}) is None
    assert aws.imds_endpoint({"AWS_EC2_METADATA_DISABLED": "false"}) == "http://169.254.169.254"


def test_ecs_fargate_task_limits_are_the_hardware():
    with EcsMetadata(cpu_vcpus=0.25, memory_mib=512) as ecs:
        found = aws._ecs_detection(ecs.uri, Deadline.after(1))
    assert (found.provider, found.service, found.region, found.zone) == (
        "aws",
        "ecs-fargate",
        "us-west-2",
        "us-west-2d",
    )
    # 0.25 vCPU and 512 MiB = 0.5 GiB, straight from the task's Limits.
    assert found.reported_hardware.vcpus == 0.25 and found.reported_hardware.memory_gb == pytest.approx(
        0.5 * 2**30 / 10**9
    )


def test_lambda_memory_is_the_resource():
    found = aws._lambda_detection(
        {"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3538", "AWS_REGION": "eu-west-1"}
    )
    assert found.region == "eu-west-1" and found.service == "lambda"
    # 3538 MB is two full vCPUs at Lambda's 1,769 MB per vCPU; 3538/1024 GiB of memory.
    assert found.reported_hardware.vcpus == pytest.approx(2.0)
    assert found.reported_hardware.memory_gb == pytest.approx(3538 * 2**20 / 10**9)  # 3538 MiB


# --- GCP metadata server -------------------------------------------------------------------


def test_gcp_server_requires_the_flavor_header_and_client_sends_it():
    with MetadataGcp() as server:
        base = f"http://{server.host}/computeMetadata/v1/"
        bare = request("GET", base + "instance/machine-type", deadline=Deadline.after(1))
        assert bare.status == 403 and bare.headers["metadata-flavor"] == "Google"
        status, value = gcp.get(base, "instance/machine-type", Deadline.after(1))
        assert (status, value) == (200, "projects/123456789012/machineTypes/n2-standard-8")
        assert server.requests()[-1].headers["metadata-flavor"] == "Google"


def test_gcp_answer_without_flavor_header_is_not_trusted():
    with MetadataGcp() as server:
        server.flavor = False
        with pytest.raises(gcp.GcpMetadataError, match="Metadata-Flavor"):
            gcp.get(f"http://{server.host}/computeMetadata/v1/", "instance/zone", Deadline.after(1))


def test_gcp_paths_and_region_derivation():
    assert gcp.last_segment("projects/42/machineTypes/n2-custom-8-32768", "machineTypes") == "n2-custom-8-32768"
    assert gcp.last_segment("projects/42/zones/us-central1-a", "zones") == "us-central1-a"
    assert gcp.region_of_zone("europe-west4-b") == "europe-west4"
    with pytest.raises(gcp.GcpMetadataError):
        gcp.last_segment("<html>oops</html>", "zones")


def test_gcp_accelerators_from_gke_labels_and_attributes():
    labels = "cloud.google.com/gke-nodepool=gpu,cloud.google.com/gke-accelerator=nvidia-tesla-t4"
    assert gcp.accelerators_from_attributes({"kube-labels": labels}) == ("nvidia-tesla-t4", 1)
    assert gcp.accelerators_from_attributes({"accelerator-type": "nvidia-l4", "accelerator-count": "2"}) == (
        "nvidia-l4",
        2,
    )
    assert gcp.accelerators_from_attributes({"enable-oslogin": "TRUE"}) == (None, 0)


def test_gcp_host_override():
    assert gcp.metadata_base({"GCE_METADATA_HOST": "127.0.0.1:8080"}) == "http://127.0.0.1:8080/computeMetadata/v1/"
    assert gcp.metadata_base({}) == "http://169.254.169.254/computeMetadata/v1/"


# --- Azure IMDS ------------------------------------------------------------------------------


def test_azure_requires_metadata_header_and_client_sends_it():
    with ImdsAzure() as server:
        url = server.url + "/metadata/instance?api-version=2021-02-01"
        bare = request("GET", url, deadline=Deadline.after(1))
        assert bare.status == 400 and "Required metadata header" in bare.json()["error"]
        document = azure.fetch_instance(server.url, Deadline.after(1))
        assert server.requests()[-1].headers["metadata"] == "true"
        assert azure.parse_compute(document)[:3] == ("Standard_D4s_v3", "westeurope", "1")


def test_azure_retries_410_and_429_within_the_deadline():
    with ImdsAzure() as server:
        server.transient = [410, 429, 410]
        document = azure.fetch_instance(server.url, Deadline.after(1))
        assert document["compute"]["vmSize"] == "Standard_D4s_v3"
        assert len(server.requests()) == 4


def test_azure_throttled_past_the_deadline_gives_up_in_time():
    with ImdsAzure() as server:
        server.transient = [429] * 1000
        started = time.monotonic()
        with pytest.raises(MetadataTimeout):
            azure.fetch_instance(server.url, Deadline.after(0.3))
        assert time.monotonic() - started < 0.3 + SLACK_S


def test_azure_keys_and_environment_are_case_insensitive():
    document = {"COMPUTE": {"VMSIZE": "Standard_D2s_v3", "Location": "WestEurope", "azenvironment": "azurepubliccloud"}}
    assert azure.parse_compute(document) == ("Standard_D2s_v3", "westeurope", None, "azurepubliccloud", None)
    with pytest.raises(azure.AzureImdsError):
        azure.parse_compute({"compute": {"vmSize": "<script>", "location": "x"}})


# --- the shared HTTP client ----------------------------------------------------------------


@pytest.mark.parametrize("double", [ImdsAws, MetadataGcp, ImdsAzure])
def test_hung_server_costs_no_more_than_the_deadline(double):
    with double() as server:
        server.hang = True
        started = time.monotonic()
        with pytest.raises(MetadataTimeout):
            request("GET", server.url + "/latest/meta-data/instance-type", deadline=Deadline.after(0.3))
        assert time.monotonic() - started < 0.3 + SLACK_S


def test_slow_server_within_deadline_is_read_and_beyond_it_times_out(imds):
    imds.delay_s = 0.1
    assert request("GET", imds.url + "/latest/meta-data/instance-type", deadline=Deadline.after(1)).status == 200
    imds.delay_s = 0.5
    with pytest.raises(MetadataTimeout):
        request("GET", imds.url + "/latest/meta-data/instance-type", deadline=Deadline.after(0.2))


def test_garbage_bytes_are_a_bad_response_not_a_crash(imds):
    imds.garbage = True
    with pytest.raises(MetadataBadResponse):
        request("GET", imds.url + "/latest/meta-data/instance-type", deadline=Deadline.after(1))


def test_nothing_listening_is_unreachable():
    with ImdsAws() as server:
        url = server.url
    with pytest.raises(MetadataUnreachable):
        request("GET", url + "/", deadline=Deadline.after(1))


def test_importing_the_providers_stays_light():
    import subprocess

    code = (
        "import sys, carbon.providers, carbon.providers.aws, carbon.providers.gcp, carbon.providers.azure, carbon.providers.onprem, carbon.cli.detect_cmd; "
        "heavy = [m for m in ('requests', 'diskcache', 'boto3', 'botocore', 'google', 'azure', 'pynvml', 'pandas', "
        "'numpy') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
