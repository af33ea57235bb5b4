"""Instance type -> Hardware for the clouds: bundled catalog, then the provider's API, then the family.

The order is by trust: the catalog is reviewed data with sources; a live answer from the
provider's own API is exact but needs credentials and an SDK; a family estimate is a guess
and says so in a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carbon.providers.base import HardwareMatch

# (instance_type) -> (Hardware | None, method); raises LiveLookupUnavailable when it cannot ask.
LiveLookup = Callable[[str], "tuple[Any, str]"]


def cloud_hardware(provider: str, instance_type: str | None, live_lookup: LiveLookup | None = None) -> HardwareMatch:
    """The hardware of `instance_type` on `provider`, with the method and any warnings."""
    if not instance_type:
        return HardwareMatch(None, "unknown", (f"{provider}: no instance type detected, hardware unknown",))
    from carbon import catalog

    found = catalog.instance(provider, instance_type)
    if found is not None:
        return HardwareMatch(found, "catalog")
    notes: list[str] = []
    if live_lookup is not None:
        from carbon.providers.live import LiveLookupUnavailable

        try:
            hardware, method = live_lookup(instance_type)
        except LiveLookupUnavailable as error:
            notes.append(str(error))
        else:
            if hardware is not None:
                return HardwareMatch(hardware, method)
            notes.append(f"{provider} API does not know instance type {instance_type!r}")
    try:
        estimated, warning = catalog.estimate_instance_from_family(provider, instance_type)
    except LookupError as error:
        return HardwareMatch(None, "unknown", (*notes, str(error)))
    return HardwareMatch(estimated, "family-estimate", (*notes, warning))
