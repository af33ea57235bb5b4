"""Local facts that decide which provider to ask, read without any network call.

The DMI strings the firmware exposes under /sys/class/dmi/id name the hypervisor's owner on
every major cloud (AWS: "Amazon EC2"; GCP: "Google"; Azure: Microsoft's chassis asset tag), and
a few environment variables name the serverless platforms that have no DMI of their own. When
DMI is readable and names none of them, detection makes no network call at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DMI_ROOT = "/sys/class/dmi/id"
# World-readable DMI files (the serial numbers are root-only and not needed).
DMI_FIELDS = ("sys_vendor", "product_name", "product_version", "chassis_asset_tag", "bios_vendor")
# Environment variables that are evidence of a platform, shown with their values (none is a secret:
# names, sizes and the local task-metadata URI).
ENV_HINTS = (
    "AWS_EXECUTION_ENV",  # "AWS_ECS_FARGATE", "AWS_ECS_EC2", "AWS_Lambda_python3.11"
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "ECS_CONTAINER_METADATA_URI_V4",
    "K_SERVICE",  # Cloud Run services (and Cloud Functions 2nd gen)
    "CLOUD_RUN_JOB",  # Cloud Run jobs
    "KUBERNETES_SERVICE_HOST",  # any Kubernetes pod (GKE, EKS, AKS, on-premises)
)


@dataclass(frozen=True)
class HostFacts:
    """What this machine says about itself: DMI strings (None when unreadable) and the environment."""

    dmi: Mapping[str, str] | None
    environ: Mapping[str, str]
    dmi_root: str = DEFAULT_DMI_ROOT

    def dmi_value(self, name: str) -> str:
        return (self.dmi or {}).get(name, "")

    def env(self, name: str) -> str:
        return self.environ.get(name, "")

    def evidence(self) -> tuple[str, ...]:
        """Human-readable lines naming the facts, for `carbon detect`."""
        lines = []
        if self.dmi is None:
            lines.append(f"dmi: {self.dmi_root} unreadable")
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in self.dmi.items() if v)
            lines.append(f"dmi: {shown or 'no vendor strings'} ({self.dmi_root})")
        for name in ENV_HINTS:
            if self.environ.get(name):
                lines.append(f"env: {name}={self.environ[name]}")
        return tuple(lines)


def read_dmi(root: str | Path) -> dict[str, str] | None:
    """The DMI strings under `root`, or None when none can be read (no sysfs, a container, macOS)."""
    values: dict[str, str] = {}
    readable = False
    for name in DMI_FIELDS:
        try:
            values[name] = (Path(root) / name).read_text(encoding="utf-8", errors="replace").strip()
            readable = True
        except OSError:
            continue
    return values if readable else None


def gather(environ: Mapping[str, str] | None = None) -> HostFacts:
    """Read DMI (under `CARBON_DMI_ROOT` when set) and keep the environment for the providers."""
    environ = dict(os.environ if environ is None else environ)
    root = environ.get("CARBON_DMI_ROOT") or DEFAULT_DMI_ROOT
    return HostFacts(dmi=read_dmi(root), environ=environ, dmi_root=root)
