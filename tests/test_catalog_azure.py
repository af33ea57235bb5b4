"""Azure catalog: CCF names to ARM size names, and Resource SKUs through azure-mgmt-compute
against a loopback ARM double (nextLink paging, bearer-token auth, api-version)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from azure.core.credentials import AccessToken
from fixtures.azure_compute_api import AzureComputeApi, disk_sku, vm_sku

from instance_catalog import azure
from instance_catalog.table import ApiError, CatalogRow


class StaticTokenCredential:
    """A TokenCredential: azure-core asks it for a token and sends `Authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.mark.parametrize(
    "ccf, arm",
    [
        ("D4s v5", "Standard_D4s_v5"),
        ("B1MS", "Standard_B1ms"),
        ("B1ls", "Standard_B1ls"),
        ("Ds1 v2", "Standard_DS1_v2"),
        ("DS11-1 v2", "Standard_DS11-1_v2"),
        ("NC4as T4 v3", "Standard_NC4as_T4_v3"),
        ("A0", "Standard_A0"),
        ("ND96asr A100 v4", "Standard_ND96asr_v4"),
        ("ND96amsr A100 v4", "Standard_ND96amsr_A100_v4"),
        ("D15i v2 1", "Standard_D15i_v2"),
    ],
)
def test_ccf_names_become_arm_size_names(ccf, arm):
    assert azure.arm_name(ccf) == arm


@pytest.mark.parametrize(
    "name, model",
    [
        ("Standard_NC24ads_A100_v4", "A100 PCIe 80GB"),
        ("Standard_ND96asr_v4", "A100 SXM4 40GB"),
        ("Standard_ND96amsr_A100_v4", "A100 SXM4 80GB"),
        ("Standard_NC6s_v3", "Tesla V100-PCIE-16GB"),
        ("Standard_ND40rs_v2", "Tesla V100-SXM2-32GB"),
        ("Standard_NC6", "Tesla K80"),
        ("Standard_NC4as_T4_v3", "T4"),
        ("Standard_ND96isr_H100_v5", "H100 SXM"),
        ("Standard_NC40ads_H100_v5", "H100 NVL"),
        ("Standard_D4s_v5", ""),
    ],
)
def test_gpu_series_models(name, model):
    assert azure.gpu_model(name) == model


@pytest.fixture
def arm():
    api = AzureComputeApi(page_size=2).start()
    api.skus = [
        vm_sku("Standard_D4s_v5", "eastus", 4, 16),
        disk_sku("Premium_LRS", "eastus"),
        vm_sku("Standard_D4s_v5", "westeurope", 4, 16),
        vm_sku("Standard_NC24ads_A100_v4", "eastus", 24, 220, gpus=1),
        vm_sku("Standard_E4-2s_v5", "eastus", 4, 32, vcpus_available=2),
        vm_sku("Standard_D4ps_v5", "eastus", 4, 16, arch="Arm64"),
    ]
    yield api
    api.stop()


def test_resource_skus_follow_next_link_and_keep_vm_sizes_only(arm):
    credential = StaticTokenCredential(arm.token)
    skus = azure.fetch(credential, arm.subscription, arm.url, timeout_s=10)
    assert sorted(skus) == ["Standard_D4ps_v5", "Standard_D4s_v5", "Standard_E4-2s_v5", "Standard_NC24ads_A100_v4"]
    assert arm.count("Microsoft.Compute/skus") == 3  # 6 SKUs, 2 per page
    assert all(v for v in arm.api_versions)
    assert set(arm.auth_headers) == {f"Bearer {arm.token}"}
    assert credential.scopes and credential.scopes[0][0].endswith("/.default")


def test_sku_rows_use_capabilities_and_ccf_platforms(arm):
    skus = azure.fetch(StaticTokenCredential(arm.token), arm.subscription, arm.url, timeout_s=10)
    known = [CatalogRow("Standard_D4s_v5", "Ds_v5", 4, 16, "Ice Lake", source="ccf-app")]
    rows = {r.instance_type: r for r in azure.rows_from_api(skus, known)}
    assert (rows["Standard_D4s_v5"].vcpus, rows["Standard_D4s_v5"].memory_gib) == (4, 16)
    assert rows["Standard_D4s_v5"].cpu_microarchitecture == "Ice Lake"
    assert rows["Standard_E4-2s_v5"].vcpus == 2  # constrained-core size: vCPUsAvailable
    nc = rows["Standard_NC24ads_A100_v4"]
    assert (nc.gpu_model, nc.gpu_count, nc.source) == ("A100 PCIe 80GB", 1, "azure-skus-api")


def test_wrong_token_is_403_and_a_typed_error(arm):
    with pytest.raises(ApiError, match="AuthorizationFailed"):
        azure.fetch(StaticTokenCredential("not-the-token"), arm.subscription, arm.url, timeout_s=10)


def test_unknown_subscription_is_a_typed_error(arm):
    with pytest.raises(ApiError, match="SubscriptionNotFound"):
        azure.fetch(StaticTokenCredential(arm.token), "ffffffff-0000-0000-0000-000000000000", arm.url, timeout_s=10)


def test_request_without_authorization_header_is_401_with_challenge(arm):
    url = f"{arm.url}/subscriptions/{arm.subscription}/providers/Microsoft.Compute/skus?api-version=2021-07-01"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=5)
    assert caught.value.code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert json.loads(caught.value.read())["error"]["code"] == "AuthenticationFailed"


def test_missing_api_version_is_400(arm):
    request = urllib.request.Request(
        f"{arm.url}/subscriptions/{arm.subscription}/providers/Microsoft.Compute/skus",
        headers={"Authorization": f"Bearer {arm.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
