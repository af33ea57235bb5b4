"""One build per provider: fetch (API or public data), enrich, and describe for the manifest.

Kept apart from the CLI so tests can drive a build with their own clients and folders.
"""

from __future__ import annotations

import sys
from argparse import Namespace

from . import aws
from .ccf import Datasets
from .sources import pick
from .table import CatalogRow, TableMeta


def _warn(message: str) -> None:
    print(f"update_instance_catalog: warning: {message}", file=sys.stderr)


def build_aws(args: Namespace, datasets: Datasets | None, retrieved: str) -> tuple[list[CatalogRow], TableMeta]:
    regions = args.regions.split(",") if getattr(args, "regions", None) else None
    if args.from_bundle_sources:
        types, api_source = aws.fetch_from_moto(regions), "aws-ec2-moto"
    else:
        import boto3

        types, api_source = aws.fetch(boto3.Session(), regions, args.timeout), "aws-ec2-api"
    if datasets is not None:
        enrichment = aws.enrichment_from_datasets(datasets)
    else:
        _warn("no raw datasets folder: CPU models are reused from the current catalog")
        enrichment = aws.enrichment_from_catalog(aws.existing_rows(args.out / "instances_aws.csv"))
    missing = aws.burstable_without_baseline(types, enrichment)
    if missing:
        _warn(f"no documented baseline for burstable type(s) {', '.join(missing)}")
    rows = aws.to_rows(types, enrichment, api_source)
    used = sorted(
        {r.source for r in rows}
        | set(enrichment.sources)
        | ({"aws-burstable-docs"} if enrichment.baseline_fraction else set())
    )
    meta = TableMeta(
        provider="aws",
        description="AWS EC2 instance types: vCPUs, memory, CPU model and CCF microarchitecture, GPUs, "
        "burstable baseline per vCPU (t2/t3/t3a/t4g)",
        sources=pick(*used, retrieved=retrieved),
        licence="facts (instance specifications); CPU/microarchitecture columns from CCF (Apache-2.0) "
        "and Teads (CC BY 4.0)",
        years=(2021, 2026) if datasets is not None else (int(retrieved[:4]),),
    )
    return rows, meta


def build_gcp(args: Namespace, datasets: Datasets | None, retrieved: str):
    from . import gcp

    return gcp.build(args, datasets, retrieved)


def build_azure(args: Namespace, datasets: Datasets | None, retrieved: str):
    from . import azure

    return azure.build(args, datasets, retrieved)
