"""`carbon batch`: re-price a whole log of past jobs (Slurm sacct, CSV, Parquet, JSON lines, run logs)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="job logs to read")
    parser.add_argument(
        "--format",
        choices=("sacct", "csv", "parquet", "jsonl", "runs"),
        help="log format (default: by suffix; sacct text otherwise)",
    )
    parser.add_argument("--fields", help="sacct field order, as given to sacct --format, for logs without a header")
    parser.add_argument("--region", help="region for jobs whose log names none (FR, US-CA, aws:us-east-1)")
    parser.add_argument("--hardware", metavar="FILE", help="TOML map of partitions / node features to hardware")
    parser.add_argument(
        "--granularity",
        choices=("hour", "month", "year"),
        default="hour",
        help="finest grid intensity to use (default: hour where the bundle has a series)",
    )
    parser.add_argument("--what-if-region", metavar="R", help="also price every job as if it ran in region R")
    parser.add_argument(
        "--what-if-shift",
        metavar="HOURS",
        type=float,
        default=0.0,
        help="also price every job as if it started HOURS later (negative: earlier)",
    )
    parser.add_argument("--out", metavar="FILE", help="per-job results: .parquet, else CSV")
    parser.add_argument("--rejects", metavar="FILE", help="CSV of records not estimated, with line and reason")
    parser.add_argument(
        "--summary", metavar="FILE", help="CSV of totals by user, account, partition, project, month, state"
    )
    parser.add_argument(
        "--server", metavar="URL", help="also upload the results to a carbon server (token: CARBON_SERVER_TOKEN)"
    )
    parser.add_argument("--project", help="server project slug, for organisation (admin) tokens")
    parser.add_argument("--engine", choices=("pandas", "dask"), default="pandas")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a local cluster)")


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError

    try:
        import pandas  # noqa: F401
    except ImportError:
        raise UsageError("carbon batch needs pandas: pip install 'carbon-ledger[batch]'") from None
    if args.engine == "dask" or args.scheduler:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise UsageError("--engine dask needs dask: pip install 'carbon-ledger[dask]'") from None
    from pathlib import Path

    from carbon.batch import summary
    from carbon.batch.engine import Settings
    from carbon.batch.hardware import HardwareMap, load_map
    from carbon.batch.output import write_table
    from carbon.batch.readers import guess_format
    from carbon.batch.run import estimate_logs
    from carbon.regions import UnknownRegion, resolve

    for log in args.logs:
        if not Path(log).is_file():
            raise UsageError(f"no such log file: {log}")
    try:
        for region in (args.region, args.what_if_region):
            if region:
                resolve(region)
        hardware_map = load_map(args.hardware) if args.hardware else HardwareMap()
    except (UnknownRegion, ValueError) as error:
        raise UsageError(str(error).strip("'\"")) from None
    client = _server_client(args)
    settings = Settings(
        region=args.region,
        granularity=args.granularity,
        what_if_region=args.what_if_region,
        what_if_shift_h=args.what_if_shift,
    )
    fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
    engine = "dask" if args.scheduler else args.engine
    if (
        engine == "dask"
        and args.out
        and len(args.logs) == 1
        and (args.format or guess_format(args.logs[0])) == "parquet"
    ):
        return _stream(args, settings, hardware_map, client)
    try:
        result = estimate_logs(
            args.logs,
            format_name=args.format,
            fields=fields,
            settings=settings,
            hardware_map=hardware_map,
            engine=engine,
            scheduler=args.scheduler,
        )
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None
    if args.out:
        write_table(result.results, args.out)
    if args.rejects:
        write_table(result.rejects, args.rejects)
    elif len(result.rejects):
        for row in result.rejects.head(5).itertuples(index=False):
            print(f"{row.source}:{row.line}: {row.reason}", file=sys.stderr)
        if len(result.rejects) > 5:
            print(f"... {len(result.rejects) - 5} more (write them all with --rejects FILE)", file=sys.stderr)
    if args.summary:
        write_table(summary.by_dimension(result.results), args.summary)
    print(f"read {result.read}, estimated {len(result.results)}, rejected {len(result.rejects)}")
    totals = summary.totals(result.results)
    print(summary.text(totals))
    if args.what_if_region or args.what_if_shift:
        moved = float(result.results["what_if_co2e_kg"].sum())
        where = " ".join(
            filter(
                None,
                [
                    f"in {args.what_if_region}" if args.what_if_region else "",
                    f"{args.what_if_shift:+g} h later" if args.what_if_shift else "",
                ],
            )
        )
        print(f"what if {where}: {moved:.4g} kg CO2e ({moved - totals['co2e_kg']:+.4g} kg)")
    return _upload(client, result.results)


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
    from carbon.batch.output import write_table
    from carbon.batch.run import stream_parquet

    result = stream_parquet(
        args.logs[0], args.out, settings=settings, hardware_map=hardware_map, scheduler=args.scheduler
    )
    if args.rejects:
        write_table(result.rejects, args.rejects)
    print(f"read {result.read}, estimated {result.estimated}, rejected {len(result.rejects)}")
    totals = result.totals
    print(
        f"{result.estimated} jobs: {totals['energy_kwh']:.4g} kWh ({totals['energy_kwh_low']:.4g}-{totals['energy_kwh_high']:.4g}), "
        f"{totals['co2e_kg']:.4g} kg CO2e ({totals['co2e_kg_low']:.4g}-{totals['co2e_kg_high']:.4g}); "
        f"results in the Parquet dataset {args.out}"
    )
    if client is None:
        return 0
    from carbon.batch.upload import read_results

    return _upload(client, read_results(args.out))
