"""GCP machine types: name rules, custom-type parser, and the Compute API path against a loopback double.

Expected shapes are written out from Google's machine-family pages (n2-standard = 4 GB per vCPU,
C4 standard 3.75 GB per vCPU rounded down, E2 shared-core 0.25/0.5/1 vCPU of 2), not taken
from the code under test.
"""

from __future__ import annotations

import google.oauth2.credentials
import pytest
from fixtures.gcp_compute_api import GcpComputeApi, accelerator_type, machine_type
from google.auth.credentials import AnonymousCredentials

from carbon import gcp_machine_types as rules
from instance_catalog import gcp
from instance_catalog.table import ApiError


@pytest.mark.parametrize(
    "name, vcpus, memory_gib",
    [
        ("n2-custom-8-32768", 8, 32.0),
        ("custom-4-16384", 4, 16.0),  # N1 custom has no series prefix
        ("n2d-custom-6-12288", 6, 12.0),
        ("e2-custom-2-5120", 2, 5.0),
        ("n2-custom-2-20480-ext", 2, 20.0),  # extended memory keeps the same MB count
        ("e2-custom-medium-4096", 2, 4.0),  # shared-core custom: 2 vCPUs
    ],
)
def test_custom_types_parse_vcpus_and_memory_mb(name, vcpus, memory_gib):
    shape = rules.parse_custom(name)
    assert (shape.vcpus, shape.memory_gib, shape.custom) == (vcpus, memory_gib, True)


def test_custom_type_keeps_series_platform_and_shared_core_baseline():
    assert rules.parse_custom("n2d-custom-6-12288").microarchitecture == "EPYC 2nd Gen|EPYC 3rd Gen"
    assert rules.parse_custom("custom-4-16384").series == "n1"
    assert rules.parse_custom("e2-custom-small-2048").burstable_baseline_fraction == 0.5 / 2


@pytest.mark.parametrize(
    "name",
    ["n2-standard-8", "custom-4", "zz-custom-4-4096", "n2-custom-0-1024", "n2-custom-micro-1024", "custom--4096"],
)
def test_custom_parser_rejects_non_custom_names(name):
    with pytest.raises(rules.MachineTypeError):
        rules.parse_custom(name)


@pytest.mark.parametrize(
    "name, vcpus, memory_gb, arch",
    [
        ("n2-standard-8", 8, 32, "Cascade Lake|Ice Lake"),
        ("n2-highcpu-96", 96, 96, "Cascade Lake|Ice Lake"),
        ("n1-standard-1", 1, 3.75, "Skylake|Broadwell|Haswell|Ivy Bridge|Sandy Bridge"),
        ("n1-highmem-16", 16, 104, "Skylake|Broadwell|Haswell|Ivy Bridge|Sandy Bridge"),
        ("c4-standard-2", 2, 7, "Emerald Rapids|Granite Rapids"),  # 2 x 3.75 = 7.5, Google lists 7 GB
        ("c3d-highcpu-30", 30, 59, "EPYC 4th Gen"),  # irregular size, listed as 59 GB
        ("c3-standard-8-lssd", 8, 32, "Sapphire Rapids"),
        ("n2d-standard-1000", 1000, 4000, "EPYC 2nd Gen|EPYC 3rd Gen"),  # unlisted size still resolves by rule
    ],
)
def test_predefined_names_resolve_by_rule(name, vcpus, memory_gb, arch):
    shape = rules.describe(name)
    assert (shape.vcpus, shape.memory_gib, shape.microarchitecture) == (vcpus, memory_gb, arch)


def test_fixed_accelerator_and_shared_core_types():
    a2 = rules.describe("a2-highgpu-8g")
    assert (a2.vcpus, a2.memory_gib, a2.gpu_model, a2.gpu_count) == (96, 680, "A100 SXM4 40GB", 8)
    g2 = rules.describe("g2-standard-24")
    assert (g2.gpu_model, g2.gpu_count) == ("L4", 2)
    assert rules.describe("a3-ultragpu-8g").microarchitecture == "Emerald Rapids"
    assert rules.describe("e2-micro").burstable_baseline_fraction == 0.25 / 2
    assert rules.describe("f1-micro").burstable_baseline_fraction == 0.2


def test_describe_accepts_api_urls_and_rejects_other_names():
    url = "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a/machineTypes/n2-standard-4"
    assert rules.describe(url).memory_gib == 16
    for name in ("m5.xlarge", "Standard_D4s_v5", "n2-giant-8", "zz-standard-8", ""):
        assert rules.describe(name) is None


# --- Compute API through google-cloud-compute against the loopback double ---------------------------


@pytest.fixture
def compute_api():
    api = GcpComputeApi(zones_per_page=2).start()
    api.zones = {
        "us-central1-a": [
            machine_type("us-central1-a", "n2-standard-8", 8, 32768),
            machine_type("us-central1-a", "a2-highgpu-1g", 12, 87040, accelerators=[("nvidia-tesla-a100", 1)]),
        ],
        "us-central1-b": [],
        "europe-west4-a": [
            machine_type("europe-west4-a", "e2-micro", 2, 1024, shared=True),
            machine_type("europe-west4-a", "n2-standard-8", 8, 32768),
        ],
        "asia-east1-a": [machine_type("asia-east1-a", "a9-megagpu-4g", 48, 65536, accelerators=[("nvidia-b900", 4)])],
        "me-west1-a": [machine_type("me-west1-a", "zz-standard-4", 4, 8192)],
    }
    api.accelerators = {"asia-east1-a": [accelerator_type("asia-east1-a", "nvidia-b900", "NVIDIA B900")]}
    yield api
    api.stop()


def test_aggregated_list_pages_through_every_zone(compute_api):
    creds = google.oauth2.credentials.Credentials(compute_api.token)
    machines, accelerators = gcp.fetch(compute_api.project, creds, compute_api.url, timeout_s=10)
    assert sorted(machines) == ["a2-highgpu-1g", "a9-megagpu-4g", "e2-micro", "n2-standard-8", "zz-standard-4"]
    # 5 zones at 2 per page: 3 pages, the 2nd and 3rd asked for with the previous nextPageToken.
    assert compute_api.count("aggregated/machineTypes") == 3
    assert [q.get("pageToken") is not None for p, q in compute_api.log if p.endswith("machineTypes")] == [
        False,
        True,
        True,
    ]
    assert accelerators == {"nvidia-b900": "NVIDIA B900"}
    assert set(compute_api.auth_headers) == {f"Bearer {compute_api.token}"}


def test_api_rows_take_vcpus_memory_gpus_from_the_api_and_platform_from_rules(compute_api):
    creds = google.oauth2.credentials.Credentials(compute_api.token)
    rows, unknown = gcp.rows_from_api(*gcp.fetch(compute_api.project, creds, compute_api.url, timeout_s=10))
    by_name = {r.instance_type: r for r in rows}
    n2 = by_name["n2-standard-8"]
    assert (n2.vcpus, n2.memory_gib, n2.cpu_microarchitecture, n2.source) == (
        8,
        32,
        "Cascade Lake|Ice Lake",
        "gcp-compute-api",
    )
    a2 = by_name["a2-highgpu-1g"]
    assert (a2.memory_gib, a2.gpu_model, a2.gpu_count) == (85, "A100 SXM4 40GB", 1)  # 87040 MB / 1024
    new = by_name["a9-megagpu-4g"]
    assert (new.gpu_model, new.gpu_count) == ("B900", 4)  # unknown accelerator: its API description
    assert by_name["e2-micro"].burstable_baseline_fraction == 0.125
    assert unknown == ["a9-megagpu-4g", "zz-standard-4"]


def test_missing_authorization_header_is_401_and_a_typed_error(compute_api):
    with pytest.raises(ApiError, match="GCP Compute API"):
        gcp.fetch(compute_api.project, AnonymousCredentials(), compute_api.url, timeout_s=10)
    assert compute_api.auth_headers[0] is None


def test_wrong_token_is_403_permission_denied(compute_api):
    creds = google.oauth2.credentials.Credentials("someone-elses-token")
    with pytest.raises(ApiError, match="compute.machineTypes.list"):
        gcp.fetch(compute_api.project, creds, compute_api.url, timeout_s=10)


def test_loopback_double_speaks_the_documented_401_body(compute_api):
    import json
    import urllib.error
    import urllib.request

    url = f"{compute_api.url}/compute/v1/projects/{compute_api.project}/aggregated/machineTypes"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)
    assert caught.value.code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(caught.value.read())["error"]["status"] == "UNAUTHENTICATED"


def test_hardware_for_unlisted_names_keeps_gpus_and_baseline():
    a2 = rules.hardware("a2-ultragpu-2g")
    # Hardware carries decimal GB: 340 GiB = 340 * 1.073741824 GB
    assert (a2.vcpus, a2.gpu_model, a2.gpu_count, a2.provider) == (24, "A100 SXM4 80GB", 2, "gcp")
    assert a2.memory_gb == pytest.approx(340 * 1.073741824)
    custom = rules.hardware("n2-custom-8-32768")
    assert (custom.vcpus, custom.microarchitecture) == (8, "Cascade Lake|Ice Lake")
    assert custom.memory_gb == pytest.approx(32 * 1.073741824)
    assert rules.hardware("e2-small").burstable_baseline_fraction == 0.25
    assert rules.hardware("m5.xlarge") is None
