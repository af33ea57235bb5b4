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
        # Warning categories are not errors: they form the warnings module's own tree.
        if issubclass(value, Exception) and not issubclass(value, (CarbonError, Warning)):
            outside.append(path)
    assert outside == []


# --- broad handlers narrowed: a bug is no longer dressed up as an expected failure ---------------


class _Chain:
    """A chain whose live lookup fails with `error`; the fallback says which reasons it got."""

    links = ("live",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def live(self, zone, hour):
        raise self.error

    def fallback(self, zone, time, reasons):
        return reasons


def _prefetched_reasons(error: Exception) -> list[str]:
    from datetime import datetime, timezone

    from carbon.intensity.prefetch import IntensityPrefetcher

    moment = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    with IntensityPrefetcher(_Chain(error)) as prefetcher:
        prefetcher.request("FR", moment)
        assert prefetcher.wait(5.0)
        return prefetcher.get("FR", moment)


def test_prefetch_records_an_expected_failure_as_a_reason(caplog):
    from carbon.intensity.http import FetchError

    assert _prefetched_reasons(FetchError("HTTP 503")) == ["prefetch error FetchError: HTTP 503"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_prefetch_logs_a_bug_with_its_traceback(caplog):
    reasons = _prefetched_reasons(TypeError("unsupported operand"))
    assert reasons == ["prefetch bug TypeError: unsupported operand"]
    [record] = [r for r in caplog.records if r.name == "carbon.intensity.prefetch"]
    assert record.levelname == "ERROR" and record.exc_info is not None


def test_tracker_detection_reports_a_bad_setting_but_lets_a_bug_through(monkeypatch):
    import carbon.providers

    from carbon.config import ConfigError
    from carbon.tracker import resolve_environment

    def bad_setting(*args, **kwargs):
        raise ConfigError("CARBON_DETECT_TIMEOUT_S: expected a number")

    monkeypatch.setattr(carbon.providers, "detect_environment", bad_setting)
    environment = resolve_environment("FR", detect=True, deadline_s=0.1)
    assert any("provider detection failed (ConfigError" in w for w in environment.warnings)

    def bug(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(carbon.providers, "detect_environment", bug)
    with pytest.raises(TypeError, match="unsupported operand"):
        resolve_environment("FR", detect=True, deadline_s=0.1)
