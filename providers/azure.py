"""Microsoft Azure virtual machines through the Instance Metadata Service (IMDS).

`GET /metadata/instance?api-version=...` with the `Metadata: true` header (IMDS answers 400
without it) returns JSON whose `compute` object holds `vmSize`, `location`, `zone` and
`azEnvironment`. IMDS asks clients to retry 410 (not ready yet) and 429 (throttled) and 5xx;
we retry those with a short backoff while the shared deadline allows.
`CARBON_AZURE_IMDS_ENDPOINT` moves the endpoint (tests, proxies).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carbon.providers.base import Deadline, Detection, HardwareMatch
from carbon.providers.http import MetadataError, MetadataTimeout, request

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Hardware, Location

DEFAULT_ENDPOINT = "http://169.254.169.254"
API_VERSION = "2021-02-01"
# Azure's virtual chassis asset tag, the same on every Azure VM (Hyper-V elsewhere has another).
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"
RETRY_STATUSES = (410, 429, 500, 502, 503, 504)
PUBLIC_CLOUD = "azurepubliccloud"

_SIZE = r"^[A-Za-z][A-Za-z0-9_-]{1,63}$"
_LOCATION = r"^[a-z][a-z0-9]{2,40}$"


class AzureImdsError(MetadataError):
    """IMDS answered with an error status or a body without the expected compute fields."""


def endpoint(environ: Mapping[str, str]) -> str:
    return (environ.get("CARBON_AZURE_IMDS_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def fetch_instance(base: str, deadline: Deadline) -> dict[str, Any]:
    """The instance document, retrying the statuses IMDS documents as transient within the deadline."""
    url = f"{base}/metadata/instance?api-version={API_VERSION}"
    delay_s = 0.02
    while True:
        answer = request("GET", url, deadline=deadline, headers={"Metadata": "true"})
        if answer.status == 200:
            document = answer.json()
            if not isinstance(document, dict):
                raise AzureImdsError("IMDS instance document is not a JSON object")
            return document
        if answer.status not in RETRY_STATUSES:
            raise AzureImdsError(f"IMDS answered {answer.status}")
        if deadline.remaining() <= delay_s:
            raise MetadataTimeout(f"IMDS still answering {answer.status} at the deadline")
        time.sleep(delay_s)
        delay_s = min(delay_s * 2, 0.2)


def _field(mapping: object, name: str) -> Any:
    """Case-insensitive key lookup: IMDS versions and proxies differ in key case."""
    if not isinstance(mapping, dict):
        return None
    wanted = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def parse_compute(document: dict[str, Any]) -> tuple[str, str, str | None, str | None, str | None]:
    """(vmSize, location, zone, azEnvironment, subscriptionId) from the instance document."""
    compute = _field(document, "compute")
    size, location = _field(compute, "vmSize"), _field(compute, "location")
    if not isinstance(size, str) or not re.match(_SIZE, size):
        raise AzureImdsError("IMDS compute.vmSize is missing or malformed")
    if not isinstance(location, str) or not re.match(_LOCATION, location.lower()):
        raise AzureImdsError("IMDS compute.location is missing or malformed")
    zone = _field(compute, "zone")
    environment = _field(compute, "azEnvironment")
    subscription = _field(compute, "subscriptionId")
    return (
        size,
        location.lower(),
        zone if isinstance(zone, str) and zone else None,
        environment if isinstance(environment, str) else None,
        subscription if isinstance(subscription, str) and subscription else None,
    )


def _dmi_says_azure(facts: HostFacts) -> bool:
    return facts.dmi_value("chassis_asset_tag") == AZURE_ASSET_TAG


class AzureProvider:
    name = "azure"

    def claims(self, facts: HostFacts) -> bool | None:
        if facts.dmi is None:
            return None
        if _dmi_says_azure(facts):
            return True
        # Hyper-V guest whose asset tag could not be read: only IMDS can tell Azure from on-premises.
        hyperv = (
            facts.dmi_value("sys_vendor") == "Microsoft Corporation"
            and facts.dmi_value("product_name") == "Virtual Machine"
        )
        return None if hyperv and not facts.dmi_value("chassis_asset_tag") else False

    def detect(self, deadline: Deadline, facts: HostFacts) -> Detection | None:
        base = endpoint(facts.environ)
        evidence = (f"imds: {base}/metadata/instance (Metadata: true, api-version {API_VERSION})",)
        try:
            size, location, zone, environment, subscription = parse_compute(fetch_instance(base, deadline))
        except MetadataError as error:
            if not _dmi_says_azure(facts):
                return None
            return Detection(
                "azure",
                None,
                None,
                None,
                (*evidence, f"imds: failed ({type(error).__name__})"),
                service="vm",
                source=self.name,
                warnings=("Azure IMDS did not answer; region unknown, set CARBON_REGION",),
            )
        warnings: tuple[str, ...] = ()
        if environment and environment.lower() != PUBLIC_CLOUD:
            warnings = (f"Azure environment {environment}: region data may be missing for sovereign clouds",)
        attributes = (("subscription", subscription),) if subscription else ()
        return Detection(
            "azure",
            size,
            location,
            zone,
            (*evidence, f"imds: azEnvironment={environment}"),
            service="vm",
            source=self.name,
            attributes=attributes,
            warnings=warnings,
        )

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        from carbon.providers.hardware import cloud_hardware

        lookup = None
        if live and detection is not None:
            from carbon.providers.live import azure_vm_size

            def lookup(kind: str) -> tuple[Hardware | None, str]:
                return azure_vm_size(kind, detection.attribute("subscription"), detection.region)

        return cloud_hardware("azure", instance_type, lookup)

    def location(self, region: str) -> Location:
        from carbon.regions import resolve

        return resolve(f"azure:{region}")
