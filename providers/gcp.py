"""Google Cloud: Compute Engine (and GKE nodes) and Cloud Run, through the metadata server.

Every request carries `Metadata-Flavor: Google` (the server answers 403 without it) and every
answer must carry the same header back, which is how the Google client libraries tell the
real metadata server from anything else listening on that address. `GCE_METADATA_HOST`
moves the server (host[:port]) as in the Google libraries; the default is the link-local IP,
so that no DNS lookup of metadata.google.internal can stall a machine off Google Cloud.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from carbon.providers.base import Deadline, Detection, HardwareMatch
from carbon.providers.http import MetadataError, request

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Hardware, Location

DEFAULT_HOST = "169.254.169.254"
FLAVOR_HEADER = "Metadata-Flavor"
FLAVOR = "Google"

_NAME = r"^[a-z][a-z0-9-]{0,62}$"
_ZONE = r"^([a-z]+-[a-z]+\d+)-[a-z]$"
_REGION = r"^[a-z]+-[a-z]+\d+$"
_PROJECT = r"^[a-z][a-z0-9:.-]{0,100}$"


class GcpMetadataError(MetadataError):
    """The metadata server answered without the Google flavor, with an error status or a bad value."""


def metadata_base(environ: Mapping[str, str]) -> str:
    host = environ.get("GCE_METADATA_HOST") or environ.get("GCE_METADATA_IP") or DEFAULT_HOST
    return f"http://{host}/computeMetadata/v1/"


def get(base: str, path: str, deadline: Deadline) -> tuple[int, str]:
    """(status, text) for one metadata path; raises when the answer is not from a Google server."""
    answer = request("GET", base + path, deadline=deadline, headers={FLAVOR_HEADER: FLAVOR})
    if answer.headers.get(FLAVOR_HEADER.lower()) != FLAVOR:
        raise GcpMetadataError("the answer lacks 'Metadata-Flavor: Google': not the GCP metadata server")
    return answer.status, answer.text().strip() if answer.status == 200 else ""


def last_segment(value: str, kind: str) -> str:
    """'projects/123/machineTypes/n2-standard-8' -> 'n2-standard-8' (checking the collection name)."""
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != kind or not re.match(_NAME, parts[3]):
        raise GcpMetadataError(f"unexpected {kind} value from the metadata server")
    return parts[3]


def region_of_zone(zone: str) -> str:
    match = re.match(_ZONE, zone)
    if not match:
        raise GcpMetadataError("unexpected zone name from the metadata server")
    return match.group(1)


def accelerators_from_attributes(attributes: object) -> tuple[str | None, int]:
    """(accelerator type, count) from instance attributes, where the instance names them.

    GKE nodes carry their accelerator in the `kube-labels` attribute
    (`cloud.google.com/gke-accelerator=nvidia-tesla-t4`); a plain VM can name its own with the
    `accelerator-type` and `accelerator-count` attributes. Absent -> (None, 0).
    """
    if not isinstance(attributes, dict):
        return None, 0
    kind = attributes.get("accelerator-type")
    count_text = attributes.get("accelerator-count")
    labels = attributes.get("kube-labels")
    if not kind and isinstance(labels, str):
        for label in labels.split(","):
            key, _, value = label.partition("=")
            if key.strip() == "cloud.google.com/gke-accelerator":
                kind = value.strip()
            elif key.strip() == "cloud.google.com/gke-accelerator-count":
                count_text = value.strip()
    if not isinstance(kind, str) or not kind:
        return None, 0
    try:
        count = int(str(count_text)) if count_text is not None else 1
    except ValueError:
        count = 1
    return kind, max(count, 0)


def _dmi_says_gcp(facts: HostFacts) -> bool:
    return (
        facts.dmi_value("sys_vendor") == "Google"
        or facts.dmi_value("product_name") == "Google Compute Engine"
        or facts.dmi_value("bios_vendor") == "Google"
    )


def _serverless(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("K_SERVICE") or environ.get("CLOUD_RUN_JOB"))


class GcpProvider:
    name = "gcp"

    def claims(self, facts: HostFacts) -> bool | None:
        if _serverless(facts.environ):
            return True
        if facts.dmi is not None:
            return _dmi_says_gcp(facts)
        return None

    def detect(self, deadline: Deadline, facts: HostFacts) -> Detection | None:
        base = metadata_base(facts.environ)
        evidence = (f"metadata: {base} (Metadata-Flavor: Google)",)
        try:
            status, project = get(base, "project/project-id", deadline)
            attributes = [("project", project)] if status == 200 and re.match(_PROJECT, project) else []
            status, machine = get(base, "instance/machine-type", deadline)
            if status == 200:
                machine_type = last_segment(machine, "machineTypes")
                zone = last_segment(get(base, "instance/zone", deadline)[1], "zones")
                region = region_of_zone(zone)
                gpu_model, gpu_count = self._accelerators(base, deadline)
                if gpu_model:
                    attributes += [("accelerator_type", gpu_model), ("accelerator_count", str(gpu_count))]
                return Detection(
                    "gcp",
                    machine_type,
                    region,
                    zone,
                    evidence,
                    service="gce",
                    source=self.name,
                    attributes=tuple(attributes),
                )
            # Cloud Run has no machine type; its metadata server names the region.
            status, region_path = get(base, "instance/region", deadline)
            if status != 200:
                raise GcpMetadataError(f"metadata server answered {status} for instance/region")
            region = last_segment(region_path, "regions")
            if not re.match(_REGION, region):
                raise GcpMetadataError("unexpected region name from the metadata server")
        except MetadataError as error:
            if not (_dmi_says_gcp(facts) or _serverless(facts.environ)):
                return None
            return Detection(
                "gcp",
                None,
                None,
                None,
                (*evidence, f"metadata: failed ({type(error).__name__})"),
                service="cloud-run" if _serverless(facts.environ) else "gce",
                source=self.name,
                warnings=("GCP metadata server did not answer; region unknown, set CARBON_REGION",),
            )
        return Detection(
            "gcp",
            None,
            region,
            None,
            evidence,
            service="cloud-run",
            source=self.name,
            attributes=tuple(attributes),
            warnings=("Cloud Run: hardware is not exposed; pass --cpus/--memory-gb to estimate",),
        )

    def _accelerators(self, base: str, deadline: Deadline) -> tuple[str | None, int]:
        """Accelerators named in instance attributes; a missing or odd answer means none known."""
        import json

        try:
            status, text = get(base, "instance/attributes/?recursive=true", deadline.within(deadline.remaining() / 2))
            return accelerators_from_attributes(json.loads(text)) if status == 200 else (None, 0)
        except (MetadataError, ValueError):
            return None, 0

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        from dataclasses import replace

        from carbon.providers.hardware import cloud_hardware

        lookup = None
        if live and detection is not None:
            from carbon.providers.live import gcp_machine_type

            def lookup(kind: str) -> tuple[Hardware | None, str]:
                return gcp_machine_type(kind, detection.attribute("project"), detection.zone)

        match = cloud_hardware("gcp", instance_type, lookup)
        accelerator = detection.attribute("accelerator_type") if detection else None
        if detection is not None and match.hardware is not None and accelerator and not match.hardware.gpu_count:
            count = int(detection.attribute("accelerator_count") or 1)
            hardware = replace(match.hardware, gpu_model=accelerator, gpu_count=count)
            return HardwareMatch(hardware, match.method, match.warnings)
        return match

    def location(self, region: str) -> Location:
        from carbon.regions import resolve

        return resolve(f"gcp:{region}")
