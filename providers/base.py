"""The Provider protocol, the detection result and the entry-point registry.

A provider answers three questions: am I running here (`claims`, from local facts only, then
`detect`, which may ask a metadata service), what hardware is this instance type (`hardware`),
and which grid region is this provider region (`location`). Providers are found through the
entry-point group `carbon.providers`, so a third-party package can add one without touching
this repository (see the README's "Cloud and machine detection" section).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from carbon.errors import CarbonError

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Hardware, Location

ENTRY_POINT_GROUP = "carbon.providers"
# The provider asked when no cloud provider claims the machine.
FALLBACK_PROVIDER = "onprem"


@dataclass(frozen=True)
class Deadline:
    """One shared point in time (monotonic clock) that every probe of a detection must finish by."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def within(self, seconds: float) -> Deadline:
        """A deadline no later than this one and no later than `seconds` from now."""
        return Deadline(min(self.at, time.monotonic() + max(0.0, seconds)))


@dataclass(frozen=True)
class ProbeTiming:
    """How long one provider's probe took and how it ended, for `carbon detect` to show."""

    provider: str
    elapsed_s: float
    outcome: str  # "detected", "not detected: ...", "timed out", "error: ..."

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "elapsed_s": round(self.elapsed_s, 6), "outcome": self.outcome}


@dataclass(frozen=True)
class HardwareMatch:
    """Hardware for a detection and how it was obtained, so that a guess is never silent."""

    hardware: Hardware | None
    # "catalog", "live:<api>", "cache:<api>", "family-estimate", "provider-reported", "local", "unknown"
    method: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detection:
    """Where this process runs: provider, instance type, region and the evidence for each.

    `provider` is None off the cloud (the on-premises provider's detection). `region` is the
    provider's own region name ("us-east-1") for clouds, and the user's region code on premises.
    """

    provider: str | None
    instance_type: str | None
    region: str | None
    zone: str | None  # availability zone ("us-east-1a", "us-central1-a", Azure "1")
    evidence: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    probes: tuple[ProbeTiming, ...] = ()
    service: str | None = None  # "ec2", "ecs-fargate", "lambda", "gce", "cloud-run", "vm", "onprem"
    # Hardware the platform itself states (Fargate task limits, Lambda memory, the local machine).
    reported_hardware: Hardware | None = None
    # Provider-specific facts a live hardware lookup needs (GCP project, Azure subscription).
    attributes: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    # Name of the registered provider that produced this detection ("onprem" off the cloud).
    source: str | None = None

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)

    def with_timing(self, elapsed_s: float, probes: tuple[ProbeTiming, ...], evidence: tuple[str, ...]) -> Detection:
        return replace(self, elapsed_s=elapsed_s, probes=probes, evidence=evidence + self.evidence)

    def hardware(self, *, live: bool = True) -> HardwareMatch:
        """The hardware behind this detection: what the platform reports, else the provider's mapping."""
        if self.reported_hardware is not None:
            method = "local" if self.provider is None else "provider-reported"
            return HardwareMatch(self.reported_hardware, method)
        provider = get_provider(self.source or self.provider or FALLBACK_PROVIDER)
        if provider is None:
            return HardwareMatch(None, "unknown", (f"no provider named {self.source or self.provider!r} is installed",))
        return provider.hardware(self.instance_type, detection=self, live=live)

    def location(self) -> Location | None:
        """The grid location of this detection's region, or None when no region is known."""
        if not self.region:
            return None
        provider = get_provider(self.source or self.provider or FALLBACK_PROVIDER)
        if provider is None:
            return None
        return provider.location(self.region)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "service": self.service,
            "instance_type": self.instance_type,
            "region": self.region,
            "zone": self.zone,
            "evidence": list(self.evidence),
            "elapsed_s": round(self.elapsed_s, 6),
            "probes": [p.to_dict() for p in self.probes],
            "warnings": list(self.warnings),
        }


@runtime_checkable
class Provider(Protocol):
    """What a provider module implements; `name` is also its entry-point name."""

    name: str

    def claims(self, facts: HostFacts) -> bool | None:
        """From local facts only (DMI, environment), no network: True (it is me), False (it is not), None (ask)."""

    def detect(self, deadline: Deadline, facts: HostFacts) -> Detection | None:
        """Ask the platform (metadata service, environment) before `deadline`; None when not running here."""

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        """Hardware of an instance type (the local machine for on-premises)."""

    def location(self, region: str) -> Location:
        """The grid location of one of this provider's regions; raises ValueError when unknown."""


class ProviderLoadError(CarbonError):
    """An installed `carbon.providers` entry point could not be loaded or is not a Provider."""


@lru_cache(maxsize=1)
def _entry_points() -> tuple[tuple[str, str], ...]:
    """(name, "module:attribute") of every installed provider; the scan is done once per process."""
    import sys

    found = scan_entry_points(sys.path, ENTRY_POINT_GROUP)
    if found is None:  # an environment the plain scan does not cover: the standard library decides
        from importlib.metadata import entry_points

        found = [(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return tuple(sorted(found))


def scan_entry_points(paths: list[str], group: str) -> list[tuple[str, str]] | None:
    """The entry points of `group` that importlib.metadata.entry_points(group=...) finds, read from the
    `*.dist-info`/`*.egg-info` folders of `paths` directly: importing importlib.metadata (it pulls in
    the email package) and parsing every distribution costs `carbon detect` ~15 ms. As the standard
    library does, the first folder of a distribution name along the path wins. None where another
    importer finds distributions, or a path entry is a zip file or an egg: the caller asks
    importlib.metadata then."""
    import os
    import re
    import sys
    from importlib.machinery import PathFinder

    if any(hasattr(f, "find_distributions") and f is not PathFinder for f in sys.meta_path):
        return None
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    for root in paths:
        try:
            children = os.listdir(root or ".")
        except OSError:
            if os.path.exists(root or "."):
                return None  # a zip file on the path
            continue
        if os.path.basename(root).lower().endswith(".egg"):
            return None
        for child in children:
            stem, dot, extension = child.rpartition(".")
            if not dot or extension.lower() not in ("dist-info", "egg-info"):
                continue
            if extension not in ("dist-info", "egg-info"):
                return None  # named by its metadata, not its folder: leave it to the standard library
            name = re.sub(r"[-_.]+", "-", stem.partition("-")[0]).lower().replace("-", "_")
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(os.path.join(root, child, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                continue
            found.extend(_entry_points_of(text, group))
    return found


def _entry_points_of(text: str, group: str) -> list[tuple[str, str]]:
    """(name, value) of one entry_points.txt's `group`, parsed as importlib.metadata parses it."""
    section, found = None, []
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section is not None:
            name, value = line.split("=", 1)
            if section == group:
                found.append((name.strip(), value.strip()))
    return found


def _instantiate(name: str, target: str) -> Provider:
    import importlib

    module_name, _, attribute = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        provider = obj() if isinstance(obj, type) else obj
    except Exception as error:  # a broken third-party plug-in must not break detection
        raise ProviderLoadError(f"provider {name!r} ({target}) failed to load: {error}") from error
    if not isinstance(provider, Provider):
        raise ProviderLoadError(f"provider {name!r} ({target}) does not implement the Provider protocol")
    return provider


def load_providers(targets: Mapping[str, str] | None = None) -> tuple[list[Provider], list[str]]:
    """Every installed provider (built-in ones first, as registered), and the load errors as text."""
    items = dict(_entry_points() if targets is None else targets.items())
    order = [n for n in ("aws", "gcp", "azure") if n in items] + sorted(
        n for n in items if n not in ("aws", "gcp", "azure")
    )
    providers: list[Provider] = []
    errors: list[str] = []
    for name in order:
        try:
            providers.append(_instantiate(name, items[name]))
        except ProviderLoadError as error:
            errors.append(str(error))
    return providers, errors


def get_provider(name: str) -> Provider | None:
    """The installed provider registered under `name`, or None."""
    target = dict(_entry_points()).get(name)
    if target is None:
        return None
    try:
        return _instantiate(name, target)
    except ProviderLoadError:
        return None
