"""Reading raw files with line numbers, and exact decimal numbers in and out.

Numbers are parsed as `Decimal` so that a figure copied from a source (Google's 439.29, Ember's
44.18) is written back byte for byte, and computed figures are rounded once, explicitly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

from carbon.errors import DataError


class RawDataError(DataError):
    """A raw file (or a built table) is not what its parser expects."""

    def __init__(self, file: str, line: int | None, column: str | None, message: str):
        self.file, self.line, self.column = file, line, column
        where = file + (f", line {line}" if line is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class RawRow:
    file: str
    line: int
    values: dict[str, str]
    width: int = 0  # fields in the header

    @property
    def complete(self) -> bool:
        return len(self.values) >= self.width

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def error(self, column: str | None, message: str) -> RawDataError:
        return RawDataError(self.file, self.line, column, message)

    def number(self, column: str, *, required: bool = True, decimal_comma: bool = False) -> Decimal | None:
        return parse_number(
            self.get(column), self.file, self.line, column, required=required, decimal_comma=decimal_comma
        )


def parse_number(
    text: str, file: str, line: int | None, column: str, *, required: bool = True, decimal_comma: bool = False
) -> Decimal | None:
    text = text.strip()
    if text.lower() in ("", "nan", "none", "null", "-", "–", "unk"):
        if required:
            raise RawDataError(file, line, column, "empty value where a number is required")
        return None
    try:
        value = Decimal(text.replace(",", ".") if decimal_comma else text)
    except InvalidOperation:
        raise RawDataError(file, line, column, f"{text!r} is not a number") from None
    if not value.is_finite():
        raise RawDataError(file, line, column, f"{text!r} is not a finite number")
    return value


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    try:
        return path.read_bytes().decode(encoding)
    except FileNotFoundError:
        raise RawDataError(str(path), None, None, "raw file is missing") from None
    except UnicodeDecodeError as error:
        raise RawDataError(str(path), None, None, f"not {encoding} text: {error}") from None


def read_csv(
    path: Path,
    required: tuple[str, ...],
    *,
    label: str | None = None,
    encoding: str = "utf-8-sig",
    skip_lines: int = 0,
    allow_short: bool = False,
) -> Iterator[RawRow]:
    """Rows of a CSV whose header must contain `required`; a short row (a truncated file) is an error,
    not padding, unless `allow_short` (a source known to omit trailing empty fields)."""
    name = label or path.name
    text = read_text(path, encoding)
    handle = io.StringIO(text, newline="")
    for _ in range(skip_lines):
        handle.readline()
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RawDataError(name, 1 + skip_lines, None, "file is empty (no header)") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise RawDataError(
            name, 1 + skip_lines, missing[0], f"header lacks column(s) {', '.join(map(repr, missing))}; found {header}"
        )
    width = len(header)
    needed = width if not allow_short else (max(header.index(c) for c in required) + 1 if required else 0)
    for cells in reader:
        line = reader.line_num + skip_lines
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) < needed:
            absent = header[len(cells)] if len(cells) < width else None
            raise RawDataError(name, line, absent, f"row has {len(cells)} fields, the header has {width} (truncated?)")
        yield RawRow(name, line, dict(zip(header, cells)), width)


def fmt(value: Decimal | float | int | None, places: int | None = None) -> str:
    """Plain decimal text without exponent or trailing zeros; `places` rounds computed values."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
