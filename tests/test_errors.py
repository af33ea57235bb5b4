"""One error tree: every exception the library raises on purpose is in one of four families."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from carbon.errors import CarbonError, DataError, HardwareError, NetworkError, UserInputError

REPO = Path(__file__).resolve().parents[1]

FAMILIES = {
    "carbon.regions.UnknownRegion": UserInputError,
    "carbon.config.ConfigError": UserInputError,
    "carbon.pricing.EstimateError": UserInputError,
    "carbon.intensity.chain.ChainConfigError": UserInputError,
    "carbon.gcp_machine_types.MachineTypeError": UserInputError,
    "carbon.sinks.base.SinkError": UserInputError,
    "carbon.bundle.BundleError": DataError,
    "carbon.intensity.base.NoBundledIntensity": DataError,
    "carbon.intensity.cache.CacheEntryError": DataError,
    "carbon.meters.base.MeterError": HardwareError,
    "carbon.intensity.http.FetchError": NetworkError,
    "carbon.intensity.http.NotConfigured": NetworkError,
    "carbon.intensity.http.AuthFailed": NetworkError,
    "carbon.intensity.http.RateLimited": NetworkError,
    "carbon.providers.http.MetadataError": NetworkError,
    "carbon.providers.aws.ImdsError": NetworkError,
    "carbon.providers.gcp.GcpMetadataError": NetworkError,
    "carbon.providers.azure.AzureImdsError": NetworkError,
    "carbon.providers.live.LiveLookupUnavailable": NetworkError,
    "carbon.providers.base.ProviderLoadError": CarbonError,
    "carbon.intensity.base.IntensityError": CarbonError,
}


@pytest.mark.parametrize("path, family", FAMILIES.items())
def test_each_error_is_in_its_family(path, family):
    module, name = path.rsplit(".", 1)
    assert issubclass(getattr(importlib.import_module(module), name), family)


def _classes() -> set[str]:
    """Every class defined in the library (the CLI apart), as module.Name."""
    found = set()
    for folder, package in ((REPO / "carbon", "carbon"), (REPO / "providers", "carbon.providers")):
        for path in folder.rglob("*.py"):
            module = ".".join((package, *path.relative_to(folder).with_suffix("").parts)).removesuffix(".__init__")
            if module.startswith("carbon.cli"):
                continue  # the CLI's own UsageError is its business
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found |= {f"{module}.{node.name}" for node in tree.body if isinstance(node, ast.ClassDef)}
    return found


def test_no_exception_class_outside_the_tree():
    outside = []
    for path in sorted(_classes()):
        module, name = path.rsplit(".", 1)
        value = getattr(importlib.import_module(module), name)
        if issubclass(value, BaseException) and not issubclass(value, CarbonError):
            outside.append(path)
    assert outside == []
