"""`carbon batch`: re-price a whole log of past jobs (Slurm sacct, CSV, Parquet, JSON lines, run logs).

Everything the user gave is checked before the first log is read: the logs exist and are files,
the regions resolve, the hardware map parses, and every output path can be written and is
neither an input nor another output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from carbon.cli import options

if TYPE_CHECKING:
    from carbon.batch.hardware import HardwareMap

HELP = "re-price a log of past jobs (Slurm sacct, CSV, Parquet, JSON lines)"
EXAMPLES = """examples:
  sacct --allusers --parsable2 --format=JobID,User,Partition,Start,End,AllocCPUS,ReqMem,State > jobs.txt
  carbon batch jobs.txt --region aws:us-east-1 --out results.parquet --rejects rejects.csv
  carbon batch jobs.csv --region FR --summary totals.csv --what-if-region SE --what-if-shift -6
  carbon batch huge.parquet --region DE --engine dask --out results.parquet"""

MAX_SHIFT_H = 8784.0  # a leap year of hours: the furthest a job can be moved in time and still be priced


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="job logs to read, e.g. jobs.txt (several allowed)")
    parser.add_argument(
        "--format",
        choices=("sacct", "csv", "parquet", "jsonl", "runs"),
        help="log format (default: by suffix; sacct text otherwise)",
    )
    parser.add_argument(
        "--fields",
        type=options.text,
        help="sacct field order, as given to sacct --format, for logs without a header, e.g. JobID,Start,End,AllocCPUS",
    )
    parser.add_argument(
        "--region", type=options.text, help="region for jobs whose log names none, e.g. FR, US-CA, aws:us-east-1"
    )
    parser.add_argument(
        "--hardware",
        metavar="FILE",
        type=options.text,
        help="TOML map of partitions / node features to hardware, e.g. partitions.toml",
    )
    parser.add_argument(
        "--granularity",
        choices=("hour", "month", "year"),
        default="hour",
        help="finest grid intensity to use (default: hour where the bundle has a series)",
    )
    parser.add_argument(
        "--what-if-region",
        metavar="R",
        type=options.text,
        help="also price every job as if it ran in region R, e.g. SE",
    )
    parser.add_argument(
        "--what-if-shift",
        metavar="HOURS",
        type=options.number(-MAX_SHIFT_H, maximum=MAX_SHIFT_H, unit="hours"),
        default=0.0,
        help="also price every job as if it started HOURS later (negative: earlier), e.g. -6",
    )
    parser.add_argument("--out", metavar="FILE", help="per-job results: .parquet, else CSV, e.g. results.parquet")
    parser.add_argument(
        "--rejects", metavar="FILE", help="CSV of records not estimated, with line and reason, e.g. rejects.csv"
    )
    parser.add_argument(
        "--summary",
        metavar="FILE",
        help="CSV of totals by user, account, partition, project, month, state, e.g. totals.csv",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        type=options.text,
        help="also upload the results to a carbon server (token: CARBON_SERVER_TOKEN), e.g. https://carbon.example.org",
    )
    parser.add_argument(
        "--project", type=options.text, help="server project slug, for organisation (admin) tokens, e.g. climate-lab"
    )
    from carbon.cli.estimate_cmd import add_embodied_arguments

    add_embodied_arguments(parser)
    parser.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="pandas: in memory (default); dask: parallel, and a Parquet log with --out streams larger than memory",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=options.text,
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)",
    )


def _check_dataset_folder(path: str) -> None:
    """A streamed run replaces the folder at --out as a whole: only an earlier Parquet dataset may be there."""
    from carbon.cli import UsageError

    folder = Path(path)
    if folder.is_dir():
        foreign = [p.name for p in folder.iterdir() if not (p.suffix == ".parquet" or p.name.startswith("_"))]
        if foreign:
            raise UsageError(
                f"--out {path!r} is a folder holding other files ({', '.join(sorted(foreign)[:3])}); "
                "a Parquet dataset replaces the folder: give a new path"
            )


def _check(args: argparse.Namespace, streaming: bool) -> HardwareMap:
    """Every input readable, every output writable and distinct, the regions valid; the hardware map."""
    from carbon.batch.hardware import HardwareMap, load_map
    from carbon.cli import UsageError
    from carbon.cli.options import Output, check_inputs, check_outputs
    from carbon.regions import resolve

    inputs = [("LOG", log) for log in args.logs] + ([("--hardware", args.hardware)] if args.hardware else [])
    check_inputs(inputs)
    outputs = [
        Output(option, path, folder=(option == "--out" and streaming))
        for option, path in (("--out", args.out), ("--rejects", args.rejects), ("--summary", args.summary))
        if path is not None
    ]
    check_outputs(outputs, inputs)
    if streaming:
        _check_dataset_folder(args.out)
    if args.fields is not None and not all(field.strip() for field in args.fields.split(",")):
        raise UsageError(f"--fields {args.fields!r} has an empty field name")
    for region in (args.region, args.what_if_region):
        if region:
            resolve(region)
    if not args.hardware:
        return HardwareMap()
    try:
        return load_map(args.hardware)
    except ValueError as error:  # the user's map file: its parser says what is wrong and where
        raise UsageError(f"--hardware: {error}") from None


def run(args: argparse.Namespace) -> int:
    import importlib.util
    import os

    from carbon.cli import UsageError

    # No linear algebra here: OpenBLAS's thread pool, started as numpy is imported, would only
    # cost its start (about 0.1 s of CPU). One thread, unless the user has chosen.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    if importlib.util.find_spec("pandas") is None:  # found, not imported: a Parquet run may not need it
        raise UsageError("carbon batch needs pandas: pip install 'carbon-ledger[batch]'")
    if args.engine == "dask" or args.scheduler:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise UsageError("--engine dask needs dask: pip install 'carbon-ledger[dask]'") from None
    from carbon.batch.engine import Settings
    from carbon.batch.readers import guess_format

    engine = "dask" if args.scheduler else args.engine
    streaming = (
        engine == "dask"
        and args.out
        and len(args.logs) == 1
        and (args.format or guess_format(args.logs[0])) == "parquet"
    )
    hardware_map = _check(args, bool(streaming))
    client = _server_client(args)
    settings = Settings(
        region=args.region,
        granularity=args.granularity,
        what_if_region=args.what_if_region,
        what_if_shift_h=args.what_if_shift,
    )
    lifetime_h = _lifetime_h(args) if args.embodied else None
    if streaming:
        if args.embodied:
            raise UsageError(
                "--embodied is not available when Dask streams a Parquet log to --out; use --engine pandas"
            )
        return _stream(args, settings, hardware_map, client)
    return _in_memory(args, settings, hardware_map, engine, lifetime_h, client)


def _line_number(value: float | int) -> str:
    """A line number as people write it: 15, not 15.0 (the column is float when it holds a gap)."""
    return str(int(value)) if value == value else "?"


def _unreadable() -> tuple[type[BaseException], ...]:
    """What the table libraries raise for a file that is not in the format they were asked to read."""
    import pandas as pd
    import pyarrow as pa

    return (pa.ArrowInvalid, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


def _in_memory(args: argparse.Namespace, settings, hardware_map, engine: str, lifetime_h: float | None, client) -> int:
    from carbon.batch import summary
    from carbon.batch.memory import use_returning_pool
    from carbon.batch.output import write_table
    from carbon.batch.run import estimate_logs
    from carbon.cli import UsageError
    from carbon.cli.progress import Progress
    from carbon.units import quantity

    fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
    columnar = _columnar(args, engine, lifetime_h, client)
    if columnar is not None:
        # Arrow's default pool: the columnar run holds far less than the pandas one, and pages
        # kept for reuse spare it page faults (a tenth of its time).
        done = _as_columns(args, columnar, settings, hardware_map, fields)
        if done is not None:
            return done
    # Arrow's buffers from a pool that hands freed memory back (carbon.batch.memory): set here, for
    # this command's process, not in estimate_logs, which a library user calls in a process of theirs.
    use_returning_pool()
    with Progress.for_stderr(args.quiet) as progress:
        try:
            result = estimate_logs(
                args.logs,
                format_name=args.format,
                fields=fields,
                settings=settings,
                hardware_map=hardware_map,
                engine=engine,
                scheduler=args.scheduler,
                progress=progress,
            )
        except _unreadable() as error:  # the file is not in the format named (or guessed)
            raise UsageError(f"cannot read the log as {args.format or 'its format'}: {error}") from None
        if lifetime_h is not None:
            from dataclasses import replace

            from carbon.batch.embodied import add_embodied

            result = replace(result, results=add_embodied(result.results, lifetime_h))
        for path, table in (
            (args.out, lambda: result.results),
            (args.rejects, lambda: result.rejects),
            (args.summary, lambda: summary.by_dimension(result.results)),
        ):
            if path:
                progress(f"writing {Path(path).name}", 0, None)
                # reject texts quoted so any character (CR, quotes, commas) round-trips
                write_table(table(), path, quote_text=path == args.rejects)
    if not args.rejects and len(result.rejects):
        for row in result.rejects.head(5).itertuples(index=False):
            print(f"{row.source}:{_line_number(row.line)}: {row.reason}", file=sys.stderr)
        if len(result.rejects) > 5:
            print(f"... {len(result.rejects) - 5} more (write them all with --rejects FILE)", file=sys.stderr)
    print(f"read {result.read}, estimated {len(result.results)}, rejected {len(result.rejects)}")
    print(summary.text(summary.totals(result.results)))
    if lifetime_h is not None:
        from carbon.batch.embodied import totals_text

        print(totals_text(result.results, lifetime_h))
    if args.what_if_region or args.what_if_shift:
        where = " ".join(
            filter(
                None,
                [
                    f"in {args.what_if_region}" if args.what_if_region else "",
                    f"{quantity(args.what_if_shift, unit='h', signed=True)} later" if args.what_if_shift else "",
                ],
            )
        )
        print(summary.what_if_text(result.results, where))
    if result.read and not len(result.results):
        return 1  # every record rejected: nothing was estimated
    return _upload(client, result.results)


def _columnar(args: argparse.Namespace, engine: str, lifetime_h: float | None, client) -> str | None:
    """The log's format ("parquet" or "sacct") where nothing asked needs the results as a pandas
    table: one log of either, priced in memory as it ran, its results written to Parquet (or not at
    all), no summary table, no upload (carbon.batch.run.estimate_parquet_columns,
    estimate_sacct_columns); else None."""
    from carbon.batch.output import is_parquet
    from carbon.batch.readers import guess_format

    if not (
        engine == "pandas"
        and len(args.logs) == 1
        and (args.out is None or is_parquet(args.out))
        and not (args.summary or args.what_if_region or args.what_if_shift)
        and lifetime_h is None
        and client is None
    ):
        return None
    format_name = args.format or guess_format(args.logs[0])
    return format_name if format_name in ("parquet", "sacct") else None


def _as_columns(
    args: argparse.Namespace, format_name: str, settings, hardware_map, fields: list[str] | None
) -> int | None:
    """The run of a Parquet or sacct log as columns, never through pandas; None where the log needs
    the in-memory run with pandas (a record to reject, a column to parse, a log that is not
    regular)."""
    from carbon.batch import summary
    from carbon.batch.run import estimate_parquet_columns, estimate_sacct_columns
    from carbon.cli import UsageError
    from carbon.cli.progress import Progress

    with Progress.for_stderr(args.quiet) as progress:
        try:
            if format_name == "sacct":
                result = estimate_sacct_columns(
                    args.logs[0],
                    args.out,
                    fields=fields,
                    settings=settings,
                    hardware_map=hardware_map,
                    progress=progress,
                )
            else:
                result = estimate_parquet_columns(
                    args.logs[0], args.out, settings=settings, hardware_map=hardware_map, progress=progress
                )
        except _unreadable() as error:  # the file is not in the format named (or guessed)
            raise UsageError(f"cannot read the log as {args.format or 'its format'}: {error}") from None
        if result is None:
            return None
        if args.rejects:  # none: the columns are priced only when every record is estimated
            from carbon.batch.output import write_table
            from carbon.batch.schema import empty_rejects

            progress(f"writing {Path(args.rejects).name}", 0, None)
            rejects = empty_rejects()
            write_table(rejects.assign(source=[])[["source", *rejects.columns]], args.rejects, True)
    print(f"read {result.read}, estimated {result.read}, rejected 0")
    print(summary.text(result.totals))
    return 0


def _lifetime_h(args: argparse.Namespace) -> float:
    """The lifetime for --embodied, checked before any log is read."""
    from carbon.cli import UsageError
    from carbon.cli.estimate_cmd import lifetime_years
    from carbon.embodied import HOURS_PER_YEAR, default_lifetime_h

    years = lifetime_years(args)
    if years is None:
        return default_lifetime_h()
    if not years > 0:
        raise UsageError(f"the hardware lifetime must be a positive number of years, got {years:g}")
    return years * HOURS_PER_YEAR


def _server_client(args: argparse.Namespace):
    """The server to upload to (--server, else the server_url setting only when --server is given), checked
    before any work."""
    if not args.server:
        return None
    from carbon.cli import UsageError
    from carbon.config import load
    from carbon.sinks.server import ServerClient

    try:
        config = load({"server_url": args.server})
        return ServerClient(config.server_url or "", config.server_token or "", project=args.project)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _upload(client, results) -> int:
    if client is None:
        return 0
    from carbon.batch.upload import upload_frame
    from carbon.sinks.server import UploadError

    try:
        sent = upload_frame(client, results)
    except UploadError as error:
        print(f"upload to {client.url} failed: {error}; send the results later with carbon upload", file=sys.stderr)
        return 1
    refused = f", {sent.rejected} refused" if sent.rejected else ""
    print(f"uploaded to {client.url}: {sent.accepted} stored, {sent.duplicates + sent.skipped} already there{refused}")
    return 0


def _stream(args: argparse.Namespace, settings, hardware_map, client=None) -> int:
    """A Parquet log with Dask: partition by partition, results as a Parquet dataset directory at --out."""
    from carbon.batch import summary
    from carbon.batch.output import write_table
    from carbon.batch.run import stream_parquet
    from carbon.cli.progress import Progress

    with Progress.for_stderr(args.quiet) as progress:
        # One Dask pass reads, prices and writes: a spinner and the elapsed time, no count.
        progress(f"pricing {Path(args.logs[0]).name} into {Path(args.out).name}", 0, None)
        result = stream_parquet(
            args.logs[0], args.out, settings=settings, hardware_map=hardware_map, scheduler=args.scheduler
        )
        if args.rejects:
            progress(f"writing {Path(args.rejects).name}", 0, None)
            write_table(result.rejects, args.rejects, quote_text=True)
    print(f"read {result.read}, estimated {result.estimated}, rejected {len(result.rejects)}")
    print(summary.text(result.totals))
    print(f"results in the Parquet dataset {args.out}")
    if result.read and not result.estimated:
        return 1
    if client is None:
        return 0
    from carbon.batch.upload import read_results

    return _upload(client, read_results(args.out))
