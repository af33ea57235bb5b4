"""Where the library's messages go when `carbon` runs: the `carbon` logger, one line per message
on stderr. The library only logs (it configures nothing on import); the command decides the level:
warnings by default, `-v` info, `-vv` or `--debug` debug, `-q` errors only.

Python `warnings` the library still emits are shown as Python shows them, and hidden by `-q`.
"""

from __future__ import annotations

import logging
import sys
import warnings

LOGGER = "carbon"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the message (a test's capture, a pipe), and
    keeps each message on one line."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(super().format(record).split())


def level(verbose: int = 0, quiet: bool = False, debug: bool = False) -> int:
    if debug or verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.ERROR if quiet else logging.WARNING


def configure(verbose: int = 0, quiet: bool = False, debug: bool = False) -> None:
    """Install (or replace: `main` may run many times in one process) the stderr handler."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("carbon: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level(verbose, quiet, debug))
    logger.propagate = False
    if quiet and not debug:
        warnings.simplefilter("ignore")
