"""What the commands print for programs: JSON that is always valid (RFC 8259 has no NaN or
Infinity, so a number that is not finite is written as null)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None, in nested dicts, lists and tuples."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(document: Any) -> str:
    return json.dumps(finite(document), indent=2, allow_nan=False, ensure_ascii=False, default=str)


def print_json(document: Any) -> None:
    print(dumps(document), file=sys.stdout)
