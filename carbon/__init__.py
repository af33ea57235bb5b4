"""carbon: the CO2e of computing, measured where the hardware allows and modelled where not.

The public API. Attributes load lazily so that `import carbon` stays fast and never pulls in
pandas, numpy or a cloud SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "Bounds": "carbon.model",
    "Energy": "carbon.model",
    "Estimate": "carbon.model",
    "Hardware": "carbon.model",
    "Location": "carbon.model",
    "Source": "carbon.model",
    "Usage": "carbon.model",
    "Config": "carbon.config",
    "estimate": "carbon.pricing",
    "track": "carbon.tracker",
    "Tracker": "carbon.tracker",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'carbon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
