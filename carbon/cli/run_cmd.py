"""`carbon run [options] -- CMD ARGS`: run a command, measure it, print what it emitted.

The command starts as soon as the outputs are known to be writable and the meters have their
baseline; provider detection, NVML and the intensity tables load in the background meanwhile.
SIGINT, SIGTERM and SIGHUP are forwarded to the command; the exit status is the command's own, or
128 + the signal that killed it (137 for SIGKILL), as shells report it. Whatever goes wrong while
measuring or writing (a bad intensity value, a full disk, a summary path that became a folder),
the exit status stays the command's: the failure is printed, never raised.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from carbon.cli import options

HELP = "run a command and measure its energy and CO2e (-- CMD ARGS)"
EXAMPLES = """examples:
  carbon run --region FR -- python train.py --epochs 10
  carbon run --interval 30 --output runs/ --project llm --summary run.json -- ./train.sh
  carbon run --mode process --gpus 0,1 -- torchrun train.py

The exit status is the command's own (128 + the signal that ended it). Every option, setting and
output path is checked before the command starts."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=options.setting("interval_s"),
        default=None,
        metavar="SECONDS",
        help="seconds between records in the run log, at least 0.1, e.g. 30 (default: the interval_s setting, 10)",
    )
    parser.add_argument(
        "--output",
        type=options.text,
        default=None,
        metavar="DIR",
        help="folder for the run log and runs.v1.csv, e.g. runs/ (default: the output_dir setting, carbon-runs)",
    )
    parser.add_argument(
        "--project", type=options.text, default=None, help="project name recorded with the run, e.g. llm"
    )
    parser.add_argument(
        "--experiment", type=options.text, default=None, help="experiment name recorded with the run, e.g. lr-sweep"
    )
    parser.add_argument(
        "--region",
        type=options.text,
        default=None,
        help="where the machine is, e.g. FR, US-CA, aws:us-east-1; default: CARBON_REGION, else detected",
    )
    parser.add_argument(
        "--summary",
        default=None,
        metavar="FILE",
        help="also write the final summary as JSON (the keys of `carbon estimate --format json`), e.g. run.json",
    )
    parser.add_argument(
        "--mode",
        choices=("machine", "process"),
        default="machine",
        help="machine: the whole machine's energy (default); process: the share attributed to the command",
    )
    parser.add_argument(
        "--gpus",
        type=options.text,
        default=None,
        metavar="IDS",
        help="GPUs to meter, CUDA_VISIBLE_DEVICES style, e.g. 0,1 or UUIDs; default all",
    )
    parser.add_argument(
        "--pue", type=options.setting("pue"), default=None, help="data-centre PUE if known, 1.0 to 3.0, e.g. 1.1"
    )
    parser.add_argument(
        "--mlflow", action="store_true", help="log to the active MLflow run (MLFLOW_RUN_ID) or a new one"
    )
    parser.add_argument(
        "--comet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log to the running comet_ml experiment (default: when one is running and comet_auto is on)",
    )
    parser.add_argument(
        "--prometheus-port",
        type=options.count(1),
        default=None,
        metavar="N",
        help="serve Prometheus metrics on 127.0.0.1:N, e.g. 9464",
    )
    parser.add_argument(
        "--server",
        default=None,
        type=options.text,
        metavar="URL",
        help="upload the intervals to a carbon server as they finish (token: CARBON_SERVER_TOKEN); "
        "default: the server_url setting",
    )
    from carbon.cli.estimate_cmd import add_embodied_arguments

    add_embodied_arguments(parser)
    parser.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run, e.g. -- python train.py"
    )


def preflight(args: argparse.Namespace) -> None:
    """Before the command starts: the log folder (from --output or the output_dir setting) and the
    summary file can be written, and are not the same path."""
    from carbon.cli.options import Output, check_detect_timeout, check_outputs
    from carbon.config import load

    config = load({"output_dir": args.output, "interval_s": args.interval, "pue": args.pue})
    origin = config.origins.get("output_dir", "default")
    folder = "--output" if origin == "argument" else f"output_dir ({origin})"
    outputs = [Output(folder, config.output_dir, folder=True)]
    if args.summary is not None:
        outputs.append(Output("--summary", args.summary))
    check_outputs(outputs)
    if args.region is None and config.region is None:
        check_detect_timeout()  # detection will run: its deadline must be usable


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
        import contextlib
        import os

        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temporary)

    def write(self, summary: dict) -> None:
        """Write and rename into place; on failure (full disk, FILE now a folder) the temporary is
        removed and the OSError raised for the caller to print."""
        import os

        from carbon.cli.output import dumps

        try:
            self.handle.write(dumps(summary) + "\n")  # strict JSON, like --format json
            self.handle.close()
            os.replace(self.temporary, self.path)
        except OSError:
            self.discard()
            raise


def _start_tracker(args: argparse.Namespace, command: list[str]):
    import os
    import shlex

    from carbon.cli import UsageError
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
            mlflow=args.mlflow,
            comet=args.comet,
            prometheus_port=args.prometheus_port,
            embodied=args.embodied,
            embodied_lifetime_years=args.lifetime_years,
            server=args.server,
        )
        return tracker.start()
    except SinkError as error:
        raise UsageError(str(error)) from None


FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def _forwarded_signals_kept_off_threads() -> Iterator[None]:
    """Start the tracker's threads with the forwarded signals blocked, so that they (and the threads
    they start) never receive them: a signal sent to carbon must reach the main thread, whose wait
    for the command it interrupts. The kernel may hand a process's signal to any thread that does
    not block it, and one taken by a sleeping tracker thread left the wait, and the command, running."""
    import signal

    numbers = {getattr(signal, name) for name in FORWARDED_SIGNALS if hasattr(signal, name)}
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no per-thread masks (nor these signals to forward)
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, numbers)
    try:
        yield
    finally:  # the main thread takes them again (one that came meanwhile is delivered now)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _run_child(command: list[str]) -> int:
    """Start the command, forward SIGINT/SIGTERM/SIGHUP to it, and return its shell-style exit status."""
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

    signals = [getattr(signal, name) for name in FORWARDED_SIGNALS if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, forward) for sig in signals}
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
    preflight(args)
    summary_file = _SummaryFile(args.summary) if args.summary else None
    try:
        with _forwarded_signals_kept_off_threads():
            tracker = _start_tracker(args, command)
    except BaseException:
        if summary_file is not None:
            summary_file.discard()
        raise
    try:
        status = _run_child(command)
    except BaseException:
        if summary_file is not None:
            summary_file.discard()
        raise
    try:
        _report(tracker, status, summary_file)
    except Exception as error:  # the command ran: its status is what the caller gets
        print(f"carbon run: the measurement failed ({type(error).__name__}: {error})", file=sys.stderr)
    finally:
        if summary_file is not None:
            summary_file.discard()  # a no-op once written
    return status


def _report(tracker, status: int, summary_file: _SummaryFile | None) -> None:
    """Stop the tracker, print the summary, write --summary; every failure printed, none raised."""
    from carbon.report import summary
    from carbon.tracker import MeasurementFailed

    try:
        estimate = tracker.stop(exit_code=status)
    except MeasurementFailed as error:
        log = f"; the run log {tracker.run_log} keeps every finished interval" if tracker.run_log else ""
        print(f"carbon run: the measurement failed ({error}){log}", file=sys.stderr)
        return
    from carbon.units import figure

    print(summary(estimate), file=sys.stderr)
    log = f", log {tracker.run_log}" if tracker.run_log else ""
    duration_s = estimate.usage.duration_s if estimate.usage else 0.0
    print(f"Run:        {tracker.run_id}, exit status {status}, {figure(duration_s)} s{log}", file=sys.stderr)
    if summary_file is not None:
        try:
            summary_file.write({**estimate.to_dict(), "duration_s": duration_s, "exit_code": status})
        except OSError as error:
            print(f"carbon run: summary not written to {summary_file.path}: {error.strerror or error}", file=sys.stderr)
