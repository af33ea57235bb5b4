"""`carbon config`: every setting, its value and where it came from."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError
    from carbon.config import ConfigError, load

    try:
        config = load()
    except ConfigError as error:
        raise UsageError(str(error)) from None
    rows = config.explain()
    if args.format == "json":
        print(json.dumps({name: {"value": value, "origin": origin} for name, value, origin in rows}, indent=2))
        return 0
    width = max(len(name) for name, _, _ in rows)
    for name, value, origin in rows:
        print(f"{name:<{width}}  {value or '-':<30}  ({origin})")
    return 0
