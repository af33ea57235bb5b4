"""`carbon detect`: what this machine is, where it is, and the evidence for both.

The top level stays light: detection and the catalogs load inside `run`.
"""

from __future__ import annotations

import argparse
from typing import Any

from carbon.cli import options

HELP = "detect the cloud provider, instance type, region and hardware, with evidence"
EXAMPLES = """examples:
  carbon detect
  carbon detect --timeout 3 --format json
  carbon detect --region FR --no-live"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )
    parser.add_argument(
        "--timeout",
        type=options.setting("detect_timeout_s"),
        default=None,
        metavar="SECONDS",
        help="shared deadline for metadata probes, e.g. 3 (default CARBON_DETECT_TIMEOUT or 1)",
    )
    parser.add_argument(
        "--region",
        type=options.text,
        default=None,
        help="region code used off the cloud, e.g. FR (default CARBON_REGION)",
    )
    parser.add_argument(
        "--no-live",
        action="store_true",
        help="never ask a provider API for an unknown instance type (catalog and estimate only)",
    )


def describe(detection, *, live: bool = True) -> dict[str, Any]:
    """The JSON document of `carbon detect --format json`."""
    from carbon.bundle import BundleError
    from carbon.providers.base import HardwareMatch
    from carbon.regions import UnknownRegion

    result = detection.to_dict()
    warnings = list(result.pop("warnings"))
    try:
        match = detection.hardware(live=live)
    except BundleError as error:  # a damaged installation: still report what was detected
        match = HardwareMatch(None, "unknown", (str(error),))
    warnings.extend(match.warnings)
    location = None
    try:
        location = detection.location()
    except (UnknownRegion, BundleError) as error:
        warnings.append(str(error))
    if location is None and not detection.region:
        warnings.append("region unknown: no grid zone")
    result.update(
        hardware=match.hardware.to_dict() if match.hardware else None,
        hardware_method=match.method,
        location=location.to_dict() if location else None,
        grid_zone=location.zone if location else None,
        warnings=warnings,
    )
    return result


def _text(document: dict[str, Any]) -> str:
    hardware = document["hardware"] or {}
    parts = []
    if hardware.get("vcpus") is not None:
        parts.append(f"{hardware['vcpus']:g} vCPUs")
    if hardware.get("cpu_model"):
        parts.append(hardware["cpu_model"])
    if hardware.get("memory_gb") is not None:
        parts.append(f"{hardware['memory_gb']:.1f} GB")
    if hardware.get("gpu_count"):
        parts.append(f"{hardware['gpu_count']} x {hardware.get('gpu_model') or 'GPU'}")
    lines = [
        f"provider:      {document['provider'] or 'none (on-premises)'}"
        + (f" ({document['service']})" if document.get("service") else ""),
        f"instance type: {document['instance_type'] or '-'}",
        f"region:        {document['region'] or '-'}" + (f"  zone {document['zone']}" if document["zone"] else ""),
        f"grid zone:     {document['grid_zone'] or '-'}",
        f"hardware:      {', '.join(parts) or 'unknown'} [{document['hardware_method']}]",
        f"detected in:   {document['elapsed_s'] * 1000:.1f} ms",
        "probes:",
        *(f"  {p['provider']:<8} {p['elapsed_s'] * 1000:8.1f} ms  {p['outcome']}" for p in document["probes"]),
        "evidence:",
        *(f"  {line}" for line in document["evidence"]),
    ]
    lines += [f"warning: {w}" for w in document["warnings"]]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from carbon.cli.output import dumps
    from carbon.config import load
    from carbon.errors import DataError
    from carbon.providers import detect_environment

    load()  # a broken config file is the user's to fix: say so before detecting anything
    if args.timeout is None:
        options.check_detect_timeout()
    detection = detect_environment(args.timeout, region=args.region)
    if detection is None:
        raise DataError("no provider is installed (the carbon.providers entry points are missing)")
    document = describe(detection, live=not args.no_live)
    print(dumps(document) if args.format == "json" else _text(document))
    return 0
