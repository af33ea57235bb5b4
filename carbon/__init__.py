"""carbon: the CO2e of computing, measured where the hardware allows and modelled where not.

The public API. Attributes load lazily so that `import carbon` stays fast and never pulls in
pandas, numpy or a cloud SDK; the same names are imported under `TYPE_CHECKING` so that type
checkers and editors see their real types (tests/test_public_api.py keeps the two lists equal).
"""

from __future__ import annotations

__version__ = "0.1.0"

# Not `from typing import TYPE_CHECKING`: importing typing (with re, enum and contextlib) is most of
# what `import carbon` would cost a fresh interpreter (~8 ms); type checkers treat this name alike.
TYPE_CHECKING = False
if TYPE_CHECKING:  # `X as X`: an explicit re-export (PEP 484)
    from carbon.config import Config as Config
    from carbon.errors import CarbonError as CarbonError
    from carbon.errors import DataError as DataError
    from carbon.errors import HardwareError as HardwareError
    from carbon.errors import NetworkError as NetworkError
    from carbon.errors import UserInputError as UserInputError
    from carbon.model import Bounds as Bounds
    from carbon.model import Energy as Energy
    from carbon.model import Estimate as Estimate
    from carbon.model import Hardware as Hardware
    from carbon.model import Location as Location
    from carbon.model import Source as Source
    from carbon.model import Usage as Usage
    from carbon.pricing import estimate as estimate
    from carbon.track_options import TrackOptions as TrackOptions
    from carbon.tracker import Tracker as Tracker
    from carbon.tracker import track as track

# public name -> module that defines it
if TYPE_CHECKING:
    from typing import Any

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
    "TrackOptions": "carbon.track_options",
    "CarbonError": "carbon.errors",
    "UserInputError": "carbon.errors",
    "DataError": "carbon.errors",
    "NetworkError": "carbon.errors",
    "HardwareError": "carbon.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'carbon' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
