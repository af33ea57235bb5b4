"""The one exception tree of carbon.

Every error the library raises on purpose derives from `CarbonError`, in one of four families,
so that a caller (the CLI, the service, a user's script) can tell whose problem it is:

- `UserInputError`: the user gave something we cannot use (a bad option, an unknown region, a
  malformed file). The CLI prints one line and exits 2.
- `DataError`: the bundled or downloaded data is missing or inconsistent.
- `NetworkError`: a remote service (metadata server, intensity API, carbon server) failed.
- `HardwareError`: a hardware counter or library (RAPL, NVML) could not be read.

Anything else escaping the library is a bug: the CLI asks for a report and shows the
traceback only with `--debug`. `UserInputError` also derives from `ValueError` so that code
written against the older, stdlib-based classes keeps working.
"""

from __future__ import annotations


class CarbonError(Exception):
    """Base of every error carbon raises on purpose."""


class UserInputError(CarbonError, ValueError):
    """The user's input (option, setting, file, region code) cannot be used."""


class DataError(CarbonError):
    """Bundled or downloaded data is missing, corrupt or inconsistent."""


class NetworkError(CarbonError):
    """A remote service did not answer usefully within its deadline."""


class HardwareError(CarbonError):
    """A hardware counter or vendor library could not be read."""
