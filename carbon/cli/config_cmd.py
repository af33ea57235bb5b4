"""`carbon config`: every setting, its value and where it came from."""

from __future__ import annotations

import argparse

HELP = "show every setting and where its value came from"
EXAMPLES = """examples:
  carbon config
  CARBON_REGION=FR carbon config --format json

Settings come from (first wins): command-line flags, CARBON_* variables, carbon.toml (or
[tool.carbon] in pyproject.toml, or the file CARBON_CONFIG names), defaults."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )


def run(args: argparse.Namespace) -> int:
    from carbon.cli.output import print_json
    from carbon.config import load

    rows = load().explain()
    if args.format == "json":
        print_json({name: {"value": value, "origin": origin} for name, value, origin in rows})
        return 0
    width = max(len(name) for name, _, _ in rows)
    print(f"{'SETTING':<{width}}  {'VALUE':<30}  ORIGIN")
    for name, value, origin in rows:
        print(f"{name:<{width}}  {value or '-':<30}  {origin}")
    return 0
