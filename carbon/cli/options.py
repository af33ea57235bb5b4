"""Checks on what the user typed, done before any work: option types for argparse (so a bad
value is argparse's one-line error naming the option and the value, exit 2) and the output-path
check every command runs before it reads a log or starts a child.

The ranges of settings live in carbon.config (one check for a flag, CARBON_* and carbon.toml);
here they are only wrapped for argparse.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


def _argparse_type(name: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """argparse shows ArgumentTypeError's message as is; its ValueError becomes "invalid <name> value"."""

    def checked(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    checked.__name__ = name
    return checked


def setting(name: str) -> Callable[[str], Any]:
    """The type of a flag that sets the configuration setting `name`: its range check, from carbon.config."""
    from carbon import config

    return _argparse_type(name, lambda text: config.parse(name, text))


def number(
    minimum: float, *, exclusive: bool = False, maximum: float | None = None, unit: str = ""
) -> Callable[[str], float]:
    """A finite number in range (no nan, no inf)."""
    from carbon.config import number as check

    return _argparse_type(
        "number", lambda text: check(text, minimum=minimum, exclusive=exclusive, maximum=maximum, unit=unit)
    )


def count(minimum: int = 0) -> Callable[[str], int]:
    """A whole number at or above `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}, got {text!r}")
        return value

    return _argparse_type("count", parse)


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _fraction(text: str) -> float:
    """Utilisation as 0.5 or 50%."""
    from carbon.config import number as check

    value = text.strip()
    percent = value.endswith("%")
    fraction = check(value[:-1] if percent else value, minimum=0.0) / (100 if percent else 1)
    if fraction > 1:
        raise ValueError(f"utilisation must be between 0 and 1 (or 0%-100%), got {text!r}")
    return fraction


def _duration_s(text: str) -> float:
    from carbon.units import parse_duration_s

    return parse_duration_s(text)


def _time(text: str) -> datetime:
    from carbon.units import parse_time

    return parse_time(text)


def _year(text: str) -> int:
    from carbon.units import check_year

    try:
        year = int(text)
    except ValueError:
        raise ValueError(f"expected a year such as 2024, got {text!r}") from None
    return check_year(year)


text = _argparse_type("text", _text)
fraction = _argparse_type("fraction", _fraction)
duration_s = _argparse_type("duration", _duration_s)
time = _argparse_type("time", _time)
year = _argparse_type("year", _year)


def check_detect_timeout() -> None:
    """CARBON_DETECT_TIMEOUT (read by the providers) gets the range check of the detect_timeout_s setting."""
    from carbon import config
    from carbon.cli import UsageError

    text = os.environ.get("CARBON_DETECT_TIMEOUT")
    if text:
        try:
            config.parse("detect_timeout_s", text)
        except ValueError as error:
            raise UsageError(f"CARBON_DETECT_TIMEOUT: {error}") from None


@dataclass(frozen=True)
class Output:
    """A path the command will write: a file, or a folder it may create."""

    option: str  # as the user knows it: "--out", "output_dir (env CARBON_OUTPUT_DIR)"
    path: str
    folder: bool = False


def _resolved(path: str) -> Path:
    return Path(path).expanduser().resolve()


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def _check_folder(output: Output, where: Path) -> None:
    from carbon.cli import UsageError

    if where.exists() and not where.is_dir():
        raise UsageError(f"{output.option} {output.path!r} is a file, not a folder")
    existing = where
    while not existing.exists():  # the folder is created with its parents: the nearest existing one must allow it
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{output.option} {output.path!r}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{output.option} {output.path!r}: folder {existing} is not writable")


def _check_file(output: Output, where: Path) -> None:
    from carbon.cli import UsageError

    if where.is_dir():
        raise UsageError(f"{output.option} {output.path!r} is a directory; give a file path")
    if not where.parent.is_dir():
        raise UsageError(f"{output.option} {output.path!r}: folder {where.parent} does not exist")
    if where.exists() and not os.access(where, os.W_OK):
        raise UsageError(f"{output.option} {output.path!r} is not writable")
    if not where.exists() and not os.access(where.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{output.option} {output.path!r}: folder {where.parent} is not writable")


def check_inputs(inputs: Sequence[tuple[str, str]]) -> None:
    """Every (option, path) read exists and is a file."""
    from carbon.cli import UsageError

    for option, path in inputs:
        where = Path(path).expanduser()
        if where.is_dir():
            raise UsageError(f"{option} {path!r} is a directory, not a file")
        if not where.exists():
            raise UsageError(f"{option} {path!r}: no such file")
        if not os.access(where, os.R_OK):
            raise UsageError(f"{option} {path!r} is not readable")


def check_outputs(outputs: Sequence[Output], inputs: Sequence[tuple[str, str]] = ()) -> None:
    """Before any work: every output can be written, none is an input, no two are the same path."""
    from carbon.cli import UsageError

    seen: list[tuple[Output, Path]] = []
    read = [(option, path, _resolved(path)) for option, path in inputs]
    for output in outputs:
        if not output.path.strip():
            raise UsageError(f"{output.option} must not be empty")
        where = _resolved(output.path)
        for option, path, source in read:
            if _same(where, source):
                raise UsageError(
                    f"{output.option} {output.path!r} is the input {option} {path!r}; it would be overwritten"
                )
        for other, other_where in seen:
            if _same(where, other_where):
                raise UsageError(f"{output.option} and {other.option} are the same path {output.path!r}")
        (_check_folder if output.folder else _check_file)(output, where)
        seen.append((output, where))
