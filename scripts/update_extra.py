"""The updaters' optional dependencies, and the one line a user sees when one is missing.

The core install carries none of them: reading ECCC's workbook needs openpyxl, the instance
catalogs need the cloud SDKs (or moto's packaged AWS data offline). They are the `[update]`
extra; a missing one stops the updater with the command that installs it, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

# Top-level import names of the `[update]` extra's packages (pyproject.toml).
UPDATE_MODULES = frozenset({"openpyxl", "boto3", "botocore", "moto", "google", "azure"})
INSTALL = "pip install 'carbon-ledger[update]'"


def missing_update_module(error: ModuleNotFoundError) -> str | None:
    """The one-line message for `error` if it names a package of the `[update]` extra, else None.

    Any other missing module is a bug or a broken install, and is left to propagate.
    """
    name = error.name or ""
    if name.split(".")[0] not in UPDATE_MODULES:
        return None
    return f"{name} is not installed; the updaters need the [update] extra: {INSTALL}"


def reporting_missing_extra(prog: str, run: Callable[[], int]) -> int:
    """`run()`, or exit status 2 with one line on stderr if it needs a package of the extra."""
    try:
        return run()
    except ModuleNotFoundError as error:
        message = missing_update_module(error)
        if message is None:
            raise
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
