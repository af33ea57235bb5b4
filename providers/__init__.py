"""Where this process runs and on what: cloud providers and the on-premises machine.

`detect_environment()` is the one entry point the tracker and `carbon detect` use. Providers are
registered through the `carbon.providers` entry-point group (see providers.base).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.base import Deadline, Detection, HardwareMatch, ProbeTiming, Provider
    from carbon.providers.detect import detect_environment

__all__ = ["Deadline", "Detection", "HardwareMatch", "ProbeTiming", "Provider", "detect_environment"]


def __getattr__(name: str) -> Any:
    """The names above, imported on first use: the tracker imports `carbon.providers.machine` at
    every start, and with it this package, but detection only when no region is given."""
    if name == "detect_environment":
        from carbon.providers import detect

        return detect.detect_environment
    if name in __all__:
        from carbon.providers import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
