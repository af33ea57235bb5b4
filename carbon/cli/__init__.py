"""The `carbon` command: a thin layer over the API, one module per subcommand.

Each module named in COMMANDS exposes `HELP` (one line), `EXAMPLES` (shown under `--help`),
`add_arguments(parser)` and `run(args) -> int`, and keeps its top level light (heavy imports
inside `run`), so that `carbon --help` and `carbon estimate` stay fast. Adding a command is one
module plus one line in COMMANDS.

Every failure leaves as one line on stderr, `carbon CMD: error: ...`, with a fixed exit status:
2 for the user's input (options, settings, files, region codes; argparse's own errors too), 1
for anything else carbon raised on purpose (data, network, hardware, the file system), and 1
with a request for a bug report for anything unexpected; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from carbon.errors import UserInputError

# (command name, module under carbon.cli), in the order `carbon --help` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("detect", "detect_cmd"),
    ("config", "config_cmd"),
    ("estimate", "estimate_cmd"),
    ("regions", "regions_cmd"),
    ("intensity", "intensity_cmd"),
    ("cache", "cache_cmd"),
    ("batch", "batch_cmd"),
    ("run", "run_cmd"),
    ("data", "data_cmd"),
    ("monitor", "monitor_cmd"),
    ("serve", "serve_cmd"),
    ("upload", "upload_cmd"),
    ("completion", "completion_cmd"),
)

EXAMPLES = """examples:
  carbon estimate --region FR --energy-kwh 12
  carbon run --region FR -- python train.py
  carbon batch jobs.txt --region aws:us-east-1 --out results.parquet
  carbon -v intensity DE --at 2024-03-01T14:00Z"""


class UsageError(UserInputError):
    """Bad input from the user, found by the CLI itself: one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command
    (`carbon estimate: error: argument --duration: ...`, exit 2); `--help` stays complete."""

    def error(self, message: str) -> None:  # type: ignore[override]  # argparse's is NoReturn too
        _say(f"{self.prog}: error: {message} (see {self.prog} --help)")
        raise SystemExit(2)


def _formatter(prog: str) -> argparse.HelpFormatter:
    # argparse builds a formatter at every add_argument; left to find the width itself, each asks
    # shutil, whose import (with zlib, bz2 and lzma) is ~1.5 ms of every command's start.
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size() gives it: COLUMNS when it is a positive
    number, else the width of the terminal on stdout, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
            columns = 0
    return columns or 80


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q/--debug, accepted before or after the subcommand (a subcommand's copy never resets
    what was given before it: its defaults are suppressed)."""
    default = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("output and diagnostics")
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="more messages from the library on stderr (-v: info, -vv: debug)",
        **({"default": 0} if top else default),
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only errors on stderr: no warnings, no progress display",
        **({"default": False} if top else default),
    )
    group.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (and debug messages)",
        **({"default": False} if top else default),
    )


# Options of `carbon` itself that may come before the command; none takes a value.
_TOP_FLAGS = frozenset(("-v", "-vv", "-vvv", "--verbose", "-q", "--quiet", "--debug"))


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The command named by `argv` when only top-level flags precede it, else None (help, version,
    no command, an unknown one: the whole tree is built and argparse answers as ever)."""
    known = {name for name, _ in COMMANDS}
    for token in argv:
        if token in known:
            return token
        if token not in _TOP_FLAGS:
            return None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree, or with `only` the one command a run needs: each command's parser
    imports its module and builds its options, so building all of them costs every start ~15 ms.
    The one command's parser is built exactly as in the whole tree: its help, usage and errors
    are the same."""
    from carbon import __version__

    parser = ArgumentParser(
        prog="carbon",
        description="Measure and estimate the CO2e of computing.",
        epilog=EXAMPLES,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"carbon {__version__}", help="print the version")
    _common_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    subparsers.required = True
    for name, module_name in COMMANDS:
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"carbon.cli.{module_name}")
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.HELP, epilog=module.EXAMPLES, formatter_class=_formatter
        )
        module.add_arguments(sub)
        _common_options(sub, top=False)
        sub.set_defaults(_run=module.run, _prog=sub.prog)
    return parser


def _say(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    print(" ".join(str(message).split()), file=sys.stderr)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user's input cannot be used. Named one by one: a bare ValueError
    from the model is a bug and must not read as bad input."""
    from carbon.config import ConfigError
    from carbon.intensity.chain import ChainConfigError
    from carbon.pricing import EstimateError
    from carbon.regions import UnknownRegion

    return (UsageError, UserInputError, ConfigError, UnknownRegion, EstimateError, ChainConfigError)


def _known_failures() -> tuple[type[BaseException], ...]:
    """Failures carbon expects and explains (data, network, hardware, the file system): exit 1."""
    from carbon.bundle import BundleError
    from carbon.errors import CarbonError
    from carbon.intensity.base import IntensityError
    from carbon.meters.base import MeterError

    return (CarbonError, BundleError, IntensityError, MeterError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(_chosen_command(arguments)).parse_args(arguments)
    except SystemExit as stop:  # --help, --version, or an argparse error already printed
        return 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 2
    from carbon.cli.logs import configure

    configure(verbose=args.verbose, quiet=args.quiet, debug=args.debug)
    command = args._prog  # "carbon data verify": a subcommand with actions names the action too
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # `carbon regions | head`: the reader left, nothing to report
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        _say(f"{command}: interrupted")
        return 130
    except Exception as error:
        return _report(error, command, args.debug)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again
    (the way the Python documentation handles SIGPIPE)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (a test's capture)
        pass


def _report(error: Exception, command: str, debug: bool) -> int:
    """One line for the error, its exit status, and the traceback only with --debug."""
    if debug:
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    if isinstance(error, _user_errors()):
        _say(f"{command}: error: {error}")
        return 2
    if isinstance(error, _known_failures()):
        if isinstance(error, OSError) and error.strerror:
            where = f": {error.filename}" if error.filename else ""
            _say(f"{command}: error: {error.strerror}{where}")
        else:
            _say(f"{command}: error: {error}")
        return 1
    from carbon import __version__

    traceback_hint = "its traceback above" if debug else "the traceback that --debug shows"
    _say(
        f"{command}: internal error ({type(error).__name__}: {error}): this is a bug in carbon {__version__}; "
        f"please report it to the maintainers with the command line and {traceback_hint}"
    )
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
