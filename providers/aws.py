"""Amazon Web Services: EC2 (IMDSv2 with the documented IMDSv1 fallback), ECS/Fargate and Lambda.

IMDS behaviour follows the EC2 user guide and the AWS SDKs: PUT /latest/api/token with
`X-aws-ec2-metadata-token-ttl-seconds` returns a session token sent back as
`X-aws-ec2-metadata-token`; a 403, 404 or 405 on the PUT, or a PUT that times out (the
response hop limit inside containers), means "use IMDSv1", while a 400 is a malformed request
and an error. `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves the endpoint and
`AWS_EC2_METADATA_DISABLED=true` turns IMDS off, as in the SDKs. The token never leaves this
module: not in evidence, messages or logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from carbon.providers.base import Deadline, Detection, HardwareMatch
from carbon.providers.http import (
    MetadataBadResponse,
    MetadataError,
    MetadataTimeout,
    MetadataUnreachable,
    Response,
    request,
)

from carbon.units import mib_to_gb

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Hardware, Location

DEFAULT_ENDPOINT = "http://169.254.169.254"
TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
TOKEN_TTL_S = 21600  # the maximum, as the SDKs request
# Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB (Lambda developer guide).
LAMBDA_MB_PER_VCPU = 1769.0

# Patterns compiled on first use (re caches them): a start off AWS never needs them.
_INSTANCE_TYPE = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"
_REGION = r"^[a-z]{2}(-[a-z]+)+-\d+$"
_ZONE = r"^[a-z]{2}(-[a-z]+)+-\d+[a-z](-[a-z0-9-]+)?$"


class ImdsError(MetadataError):
    """IMDS answered, but not usefully (400 on the token PUT, 401 without a usable token, garbage)."""


class ImdsClient:
    """One IMDS session: fetches a token once, refreshes it once on 401, falls back to v1 as documented."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT, token_ttl_s: int = TOKEN_TTL_S) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.token_ttl_s = token_ttl_s
        self._token: str | None = None
        self._token_tried = False
        self.version: str | None = None  # "IMDSv2" or "IMDSv1" once known

    def _fetch_token(self, deadline: Deadline) -> str | None:
        # Half the remaining time at most, so that a PUT that never answers leaves time for IMDSv1.
        try:
            answer = request(
                "PUT",
                self.endpoint + TOKEN_PATH,
                deadline=deadline,
                timeout_s=deadline.remaining() / 2,
                headers={TOKEN_TTL_HEADER: str(self.token_ttl_s)},
            )
        except MetadataTimeout:
            return None
        if answer.status == 200:
            token = answer.text().strip()
            if not token or not token.isprintable() or len(token) > 1024:
                raise ImdsError("IMDS returned an unusable token")
            return token
        if answer.status in (403, 404, 405):
            return None
        if answer.status == 400:
            raise ImdsError("IMDS rejected the token request with 400 Bad Request")
        raise ImdsError(f"IMDS token request answered {answer.status}")

    def get(self, path: str, deadline: Deadline) -> str:
        """GET /latest/meta-data/<path> as text."""
        if not self._token_tried:
            self._token_tried = True
            self._token = self._fetch_token(deadline)
            self.version = "IMDSv2" if self._token else "IMDSv1"
        answer = self._get(path, deadline)
        if answer.status == 401 and self._token is not None:
            # The token expired (or the service restarted): one new session, as the SDKs do.
            self._token = self._fetch_token(deadline)
            answer = self._get(path, deadline)
        if answer.status == 401:
            raise ImdsError("IMDS requires a session token (IMDSv2 only) and none could be obtained")
        if answer.status != 200:
            raise ImdsError(f"IMDS answered {answer.status} for {path}")
        return answer.text().strip()

    def _get(self, path: str, deadline: Deadline) -> Response:
        headers = {TOKEN_HEADER: self._token} if self._token else {}
        return request("GET", f"{self.endpoint}/latest/meta-data/{path}", deadline=deadline, headers=headers)


def imds_endpoint(environ: Mapping[str, str]) -> str | None:
    """The IMDS base URL, or None when IMDS is disabled (AWS_EC2_METADATA_DISABLED=true)."""
    if environ.get("AWS_EC2_METADATA_DISABLED", "false").strip().lower() == "true":
        return None
    return environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or DEFAULT_ENDPOINT


def _is_lambda(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class AwsProvider:
    name = "aws"

    def claims(self, facts: HostFacts) -> bool | None:
        env = facts.environ
        if (
            _is_lambda(env)
            or env.get("ECS_CONTAINER_METADATA_URI_V4")
            or env.get("AWS_EXECUTION_ENV", "").startswith("AWS_ECS")
        ):
            return True
        if facts.dmi is not None:
            return _dmi_says_aws(facts)
        return None if imds_endpoint(env) else False

    def detect(self, deadline: Deadline, facts: HostFacts) -> Detection | None:
        env = facts.environ
        if _is_lambda(env):
            return _lambda_detection(env)
        if env.get("ECS_CONTAINER_METADATA_URI_V4"):
            fargate_hint = env.get("AWS_EXECUTION_ENV") == "AWS_ECS_FARGATE"
            found = _ecs_detection(env["ECS_CONTAINER_METADATA_URI_V4"], deadline, fargate_hint)
            if found is not None and found.service == "ecs-fargate":
                return found
            # ECS on EC2: the task runs on an instance whose type IMDS knows.
            ec2 = self._ec2(deadline, facts)
            if ec2 is not None and found is not None:
                return replace(ec2, service="ecs-ec2", evidence=found.evidence + ec2.evidence)
            return ec2 or found
        return self._ec2(deadline, facts)

    def _ec2(self, deadline: Deadline, facts: HostFacts) -> Detection | None:
        endpoint = imds_endpoint(facts.environ)
        dmi_type = facts.dmi_value("product_name") if _dmi_says_aws(facts) else ""
        dmi_type = dmi_type if re.match(_INSTANCE_TYPE, dmi_type) else ""
        if endpoint is None:
            if not dmi_type and not _dmi_says_aws(facts):
                return None
            return Detection(
                "aws",
                dmi_type or None,
                None,
                None,
                ("imds: disabled by AWS_EC2_METADATA_DISABLED",),
                service="ec2",
                source=self.name,
                warnings=("IMDS is disabled: the region is unknown; set CARBON_REGION",),
            )
        client = ImdsClient(endpoint)
        try:
            instance_type = _valid(client.get("instance-type", deadline), _INSTANCE_TYPE, "instance type")
            zone = _valid(client.get("placement/availability-zone", deadline), _ZONE, "availability zone")
            try:
                region = _valid(client.get("placement/region", deadline), _REGION, "region")
            except ImdsError:  # placement/region arrived in 2019; derive it from the zone otherwise
                region = zone[:-1]
        except MetadataError as error:
            if not _dmi_says_aws(facts):
                return None
            # DMI says EC2 but IMDS would not answer: report what DMI knows, loudly.
            return Detection(
                "aws",
                dmi_type or None,
                None,
                None,
                (f"imds: {endpoint} failed ({_kind(error)})",),
                service="ec2",
                source=self.name,
                warnings=(f"AWS IMDS did not answer ({_kind(error)}); region unknown, set CARBON_REGION",),
            )
        return Detection(
            "aws",
            instance_type,
            region,
            zone,
            (f"imds: {endpoint} ({client.version})",),
            service="ec2",
            source=self.name,
        )

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        from carbon.providers.hardware import cloud_hardware

        region = detection.region if detection else None
        lookup = None
        if live:
            from carbon.providers.live import aws_instance_type

            def lookup(kind: str) -> tuple[Hardware | None, str]:
                return aws_instance_type(kind, region)

        return cloud_hardware("aws", instance_type, lookup)

    def location(self, region: str) -> Location:
        from carbon.regions import resolve

        return resolve(f"aws:{region}")


def _dmi_says_aws(facts: HostFacts) -> bool:
    vendor_fields = ("sys_vendor", "bios_vendor", "chassis_asset_tag")
    if any(facts.dmi_value(name).strip().lower() == "amazon ec2" for name in vendor_fields):
        return True
    # Xen-based (pre-Nitro) instances: vendor "Xen", version string "4.11.amazon".
    return "amazon" in facts.dmi_value("product_version").lower()


def _valid(text: str, pattern: str, what: str) -> str:
    if not re.match(pattern, text):
        raise ImdsError(f"IMDS returned something that is not an {what}")
    return text


def _kind(error: Exception) -> str:
    if isinstance(error, MetadataTimeout):
        return "timed out"
    if isinstance(error, MetadataUnreachable):
        return "unreachable"
    if isinstance(error, MetadataBadResponse):
        return "bad response"
    return str(error)


def _lambda_detection(env: Mapping[str, str]) -> Detection:
    from carbon.model import Hardware

    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    evidence = [f"env: AWS_LAMBDA_FUNCTION_NAME={env['AWS_LAMBDA_FUNCTION_NAME']}"]
    warnings: list[str] = []
    hardware = None
    try:
        memory_mb = float(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", ""))
    except ValueError:
        warnings.append("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is missing or not a number; hardware unknown")
    else:
        evidence.append(f"env: AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory_mb:g} MB")
        hardware = Hardware(
            vcpus=memory_mb / LAMBDA_MB_PER_VCPU, memory_gb=mib_to_gb(memory_mb), instance_type="lambda", provider="aws"
        )
    if region:
        evidence.append(f"env: AWS_REGION={region}")
    return Detection(
        "aws",
        None,
        region,
        None,
        tuple(evidence),
        service="lambda",
        reported_hardware=hardware,
        source="aws",
        warnings=tuple(warnings),
    )


def _ecs_detection(uri: str, deadline: Deadline, fargate_hint: bool = False) -> Detection | None:
    """ECS task metadata v4: `${ECS_CONTAINER_METADATA_URI_V4}/task` (JSON).

    `LaunchType` is absent with older agents; Fargate also says so in AWS_EXECUTION_ENV (`fargate_hint`).
    """
    from carbon.model import Hardware

    try:
        answer = request("GET", uri.rstrip("/") + "/task", deadline=deadline)
        task = answer.json() if answer.status == 200 else None
    except MetadataError:
        return None
    if not isinstance(task, dict):
        return None
    arn = str(task.get("TaskARN") or "")
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and re.match(_REGION, parts[3]) else None
    zone = task.get("AvailabilityZone") if isinstance(task.get("AvailabilityZone"), str) else None
    if region is None and zone and re.match(_ZONE, zone):
        region = zone[:-1]
    launch = str(task.get("LaunchType") or "")
    evidence = (f"ecs: task metadata v4 at {uri} (LaunchType={launch or 'unknown'})",)
    if launch != "FARGATE" and not (fargate_hint and not launch):
        return Detection("aws", None, region, zone, evidence, service="ecs-ec2", source="aws")
    limits = task.get("Limits")
    if not isinstance(limits, dict):
        limits = {}
    try:
        # Task-level limits: CPU in vCPUs, memory in MiB (task metadata v4 reference).
        hardware = Hardware(
            vcpus=float(limits["CPU"]),
            memory_gb=mib_to_gb(float(limits["Memory"])),
            instance_type="fargate",
            provider="aws",
        )
        warnings: tuple[str, ...] = ()
    except (KeyError, TypeError, ValueError):
        hardware, warnings = None, ("ECS task metadata has no task Limits; Fargate hardware unknown",)
    return Detection(
        "aws",
        None,
        region,
        zone,
        evidence,
        service="ecs-fargate",
        reported_hardware=hardware,
        source="aws",
        warnings=warnings,
    )
