"""`carbon run [options] -- CMD ARGS`: run a command, measure it, print what it emitted.

The command starts as soon as the outputs are known to be writable and the meters have their
baseline; provider detection, NVML and the intensity tables load in the background meanwhile.
SIGINT and SIGTERM are forwarded to the command; the exit status is the command's own, or
128 + the signal that killed it (137 for SIGKILL), as shells report it.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between records in the run log (default: the interval_s setting, 10)",
    )
    parser.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="folder for the run log and runs.v1.csv (default: the output_dir setting, carbon-runs)",
    )
    parser.add_argument("--project", default=None, help="project name recorded with the run")
    parser.add_argument("--experiment", default=None, help="experiment name recorded with the run")
    parser.add_argument(
        "--region",
        default=None,
        help="where the machine is (FR, US-CA, aws:us-east-1); default: CARBON_REGION, else detected",
    )
    parser.add_argument(
        "--summary",
        default=None,
        metavar="FILE",
        help="also write the final summary as JSON (the keys of `carbon estimate --format json`)",
    )
    parser.add_argument(
        "--mode",
        choices=("machine", "process"),
        default="machine",
        help="machine: the whole machine's energy; process: the share attributed to the command",
    )
    parser.add_argument(
        "--gpus",
        default=None,
        metavar="IDS",
        help="GPUs to meter, CUDA_VISIBLE_DEVICES style (0,1 or UUIDs); default all",
    )
    parser.add_argument("--pue", type=float, default=None, help="data-centre PUE, if known")
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="upload the intervals to a carbon server as they finish (token: CARBON_SERVER_TOKEN); "
        "default: the server_url setting",
    )
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")


def exit_status(returncode: int) -> int:
    """A shell's view of a child's end: its code, or 128 + the signal that killed it."""
    return 128 - returncode if returncode < 0 else returncode


class _SummaryFile:
    """--summary FILE: a temporary next to it is created at start (so a bad path fails before the command
    runs) and renamed over FILE at the end."""

    def __init__(self, path: str) -> None:
        import os

        self.path = path
        self.temporary = f"{path}.{os.getpid()}.tmp"
        try:
            self.handle = open(self.temporary, "w", encoding="utf-8")
        except OSError as error:
            from carbon.cli import UsageError

            raise UsageError(f"cannot write the summary file {path}: {error.strerror or error}") from None

    def discard(self) -> None:
        import os

        self.handle.close()
        os.unlink(self.temporary)

    def write(self, summary: dict) -> None:
        import json
        import os

        json.dump(summary, self.handle, indent=2, default=str)
        self.handle.write("\n")
        self.handle.close()
        os.replace(self.temporary, self.path)


def _start_tracker(args: argparse.Namespace, command: list[str]):
    import os
    import shlex

    from carbon.cli import UsageError, usage_errors
    from carbon.sinks.base import SinkError
    from carbon.tracker import Tracker

    try:
        tracker = Tracker(
            region=args.region,
            interval_s=args.interval,
            output_dir=args.output,
            project=args.project,
            experiment=args.experiment,
            mode=args.mode,
            pid=os.getpid(),
            gpu_ids=args.gpus,
            pue=args.pue,
            command=shlex.join(command),
            server=args.server,
        )
        return tracker.start()
    except SinkError as error:
        raise UsageError(str(error)) from None
    except usage_errors() as error:
        raise UsageError(str(error)) from None


def _run_child(command: list[str]) -> int:
    """Start the command, forward SIGINT/SIGTERM to it, and return its shell-style exit status."""
    import signal
    import subprocess

    try:
        child = subprocess.Popen(command)
    except FileNotFoundError:
        print(f"carbon run: command not found: {command[0]}", file=sys.stderr)
        return 127
    except PermissionError:
        print(f"carbon run: permission denied: {command[0]}", file=sys.stderr)
        return 126

    def forward(signum, frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        returncode = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_status(returncode)


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError

    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("give the command to run after --, e.g. carbon run -- python train.py")
    if args.interval is not None and not args.interval > 0:
        raise UsageError(f"--interval must be a positive number of seconds, got {args.interval:g}")
    summary_file = _SummaryFile(args.summary) if args.summary else None
    try:
        tracker = _start_tracker(args, command)
    except BaseException:
        if summary_file is not None:
            summary_file.discard()
        raise
    status = _run_child(command)
    try:
        estimate = tracker.stop(exit_code=status)
    except Exception as error:
        print(f"carbon run: the measurement failed ({type(error).__name__}: {error})", file=sys.stderr)
        return status
    from carbon.report import summary

    print(summary(estimate), file=sys.stderr)
    log = f", log {tracker.run_log}" if tracker.run_log else ""
    duration_s = estimate.usage.duration_s if estimate.usage else 0.0
    print(f"Run:        {tracker.run_id}, exit status {status}, {duration_s:.3g} s{log}", file=sys.stderr)
    if summary_file is not None:
        summary_file.write({**estimate.to_dict(), "duration_s": duration_s, "exit_code": status})
    return status
