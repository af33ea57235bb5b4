"""`carbon upload PATH...`: send run logs and batch results to a carbon server, later.

For a node with no network during the work: copy the run logs (and `carbon batch --out` files)
to a machine that can reach the server and upload them there. What the server already has is
skipped: a run log resumes from its acknowledged offset (`<log>.uploaded`, shared with the live
uploader) or after the intervals the server holds; a batch source the server holds whole is not
sent again. PATH: a run log (.jsonl), a folder of run logs, or a results file (.csv, .parquet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "send run logs and batch results to a carbon server, skipping what it already has"
EXAMPLES = """examples:
  CARBON_SERVER_TOKEN=... carbon upload carbon-runs/ --server https://carbon.example.org
  carbon upload results.parquet --server http://127.0.0.1:8000 --source cluster-2024"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="run logs (.jsonl), folders of them, batch results")
    parser.add_argument("--server", default=None, metavar="URL", help="the carbon server (default: server_url)")
    parser.add_argument("--project", default=None, help="project slug, for organisation (admin) tokens")
    parser.add_argument("--source", default=None, help="source name for batch results without a source column")


def _targets(paths: list[str]) -> list[tuple[str, Path]]:
    from carbon.cli import UsageError

    targets: list[tuple[str, Path]] = []
    for text in paths:
        path = Path(text)
        if path.is_dir() and not any(path.glob("*.parquet")) and path.suffix.lower() not in (".parquet", ".pq"):
            logs = sorted(path.glob("*.jsonl"))
            if not logs:
                raise UsageError(f"no run logs (*.jsonl) in {path}")
            targets.extend(("run", log) for log in logs)
        elif path.suffix.lower() == ".jsonl" and path.is_file():
            targets.append(("run", path))
        elif path.suffix.lower() in (".csv", ".parquet", ".pq") and path.exists():
            targets.append(("batch", path))
        elif not path.exists():
            raise UsageError(f"no such file: {path}")
        else:
            raise UsageError(
                f"cannot tell what {path} is: give a run log (.jsonl), a folder, or results (.csv/.parquet)"
            )
    return targets


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError
    from carbon.config import load
    from carbon.sinks.server import Sent, ServerClient, UploadError, send_pending, send_summary, skip_known

    targets = _targets(args.paths)
    # A bad setting or URL raises carbon's user-input errors: one line, exit 2.
    config = load({"server_url": args.server})
    client = ServerClient(config.server_url or "", config.server_token or "", project=args.project)
    if any(kind == "batch" for kind, _ in targets):
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise UsageError("uploading batch results needs pandas: pip install 'carbon-ledger[batch]'") from None
    failed = 0
    for kind, path in targets:
        sent = Sent()
        try:
            if kind == "run":
                skip_known(client, path, sent)
                send_pending(client, path, sent)
                send_summary(client, path, sent)
            else:
                from carbon.batch.upload import read_results, upload_frame

                sent = upload_frame(client, read_results(path), default_source=args.source)
        except UploadError as error:
            failed += 1
            print(f"{path}: not uploaded: {error}", file=sys.stderr)
            continue
        except (OSError, ValueError) as error:
            failed += 1
            print(f"{path}: cannot read: {error}", file=sys.stderr)
            continue
        refused = f", {sent.rejected} refused by the server" if sent.rejected else ""
        print(f"{path}: {sent.accepted} stored, {sent.duplicates + sent.skipped} already there{refused}")
    return 1 if failed else 0
