"""The `carbon` command: a thin layer over the API, one module per subcommand.

Each module in COMMANDS exposes `add_arguments(parser)` and `run(args) -> int`, and keeps its
top level light (heavy imports inside `run`), so that `carbon --help` and `carbon estimate`
stay fast. Adding a command is one module plus one line here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# (command name, module under carbon.cli, one-line help)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("detect", "detect_cmd", "detect the cloud provider, instance type, region and hardware, with evidence"),
    ("config", "config_cmd", "show every setting and where its value came from"),
    ("estimate", "estimate_cmd", "offline CO2e for a region and energy, or hardware and a duration"),
    ("regions", "regions_cmd", "list region codes with their grid zone and intensity"),
    ("intensity", "intensity_cmd", "grid intensity of a zone now, at a time, or as an hourly series"),
    ("cache", "cache_cmd", "show or clear the shared cache of live intensity values"),
    ("batch", "batch_cmd", "re-price a log of past jobs (Slurm sacct, CSV, Parquet, JSON lines)"),
    ("run", "run_cmd", "run a command and measure its energy and CO2e (-- CMD ARGS)"),
    ("data", "data_cmd", "status and verification of the bundled datasets"),
    ("serve", "serve_cmd", "the estimation service: estimate API, team collection of runs and batch results"),
    ("upload", "upload_cmd", "send run logs and batch results to a carbon server, skipping what it has"),
)


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from carbon import __version__

    parser = argparse.ArgumentParser(prog="carbon", description="Measure and estimate the CO2e of computing.")
    parser.add_argument("--version", action="version", version=f"carbon {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(f"carbon.cli.{module_name}")
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UsageError as error:
        print(f"carbon {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def usage_errors():
    """The exceptions that mean the user's input was wrong, for commands to translate into UsageError."""
    from carbon.config import ConfigError

    return (ConfigError, ValueError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
