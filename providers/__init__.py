"""Where this process runs and on what: cloud providers and the on-premises machine.

`detect_environment()` is the one entry point the tracker and `carbon detect` use. Providers are
registered through the `carbon.providers` entry-point group (see providers.base).
"""

from __future__ import annotations

from carbon.providers.base import Deadline, Detection, HardwareMatch, ProbeTiming, Provider
from carbon.providers.detect import detect_environment

__all__ = ["Deadline", "Detection", "HardwareMatch", "ProbeTiming", "Provider", "detect_environment"]
