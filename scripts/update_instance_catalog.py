#!/usr/bin/env python3
"""Rebuild a bundled instance catalog (`intensity_data/instances_<provider>.csv`).

    python scripts/update_instance_catalog.py --provider aws                 # live: EC2 API, all regions
    python scripts/update_instance_catalog.py --provider gcp --project P     # live: Compute API
    python scripts/update_instance_catalog.py --provider azure --subscription S
    python scripts/update_instance_catalog.py --provider aws --from-bundle-sources   # offline rebuild

Offline (`--from-bundle-sources`), the tables come from public data only: AWS from AWS's
instance data as packaged in moto (through the same boto3 calls), GCP from Google's documented
machine-type naming rules, Azure from Cloud Carbon Footprint's VM tables. The output is sorted
and formatted the same way every run; a table that fails validation writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from update_extra import reporting_missing_extra

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "intensity_data"
DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", required=True, choices=("aws", "gcp", "azure"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="bundle folder (default: intensity_data/)")
    parser.add_argument(
        "--from-bundle-sources",
        action="store_true",
        help="build offline from public data instead of the provider's API",
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        default=None,
        help=f"raw public datasets folder for CPU enrichment (default: {DEFAULT_DATASETS} if present)",
    )
    parser.add_argument("--regions", help="AWS: comma-separated regions (default: every region)")
    parser.add_argument("--project", help="GCP: project id to list machine types in")
    parser.add_argument("--subscription", help="Azure: subscription id")
    parser.add_argument(
        "--api-endpoint",
        help="GCP/Azure: API base URL instead of the public one (a private endpoint or a local double)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per API request")
    parser.add_argument("--retrieved", default=None, help="retrieval date to record (default: today)")
    args = parser.parse_args(argv)
    if not args.from_bundle_sources:
        if args.provider == "gcp" and not args.project:
            parser.error("--project is required to list GCP machine types (or use --from-bundle-sources)")
        if args.provider == "azure" and not args.subscription:
            parser.error("--subscription is required to list Azure VM sizes (or use --from-bundle-sources)")
    return args


def _datasets(args: argparse.Namespace):
    from instance_catalog.ccf import Datasets

    root = args.datasets or (DEFAULT_DATASETS if DEFAULT_DATASETS.exists() else None)
    return Datasets(root) if root else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return reporting_missing_extra("update_instance_catalog", lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from instance_catalog.ccf import SourceDataError
    from instance_catalog.table import ApiError, CatalogError, write

    if args.provider == "aws":
        from instance_catalog.build import build_aws as build
    elif args.provider == "gcp":
        from instance_catalog.build import build_gcp as build
    else:
        from instance_catalog.build import build_azure as build
    retrieved = args.retrieved or date.today().isoformat()
    try:
        rows, meta = build(args, _datasets(args), retrieved)
        path = write(args.out, rows, meta, retrieved=retrieved)
    except (ApiError, CatalogError, SourceDataError) as exc:
        print(f"update_instance_catalog: {exc}; nothing written", file=sys.stderr)
        return 1
    print(f"wrote {path} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
