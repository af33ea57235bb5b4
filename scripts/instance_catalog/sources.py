"""Manifest descriptions of the datasets the instance catalogs cite (id -> title, url, licence...)."""

from __future__ import annotations

from intensity_sources.sources import SOURCES as _DATA_SOURCES

# Datasets the intensity bundle already cites are described once, there.
SHARED = ("ccf-coefficients", "ccf-app", "teads-ec2")

SOURCES = {
    **{source_id: _DATA_SOURCES[source_id] for source_id in SHARED},
    "aws-ec2-api": {
        "title": "AWS EC2 DescribeInstanceTypes, all regions (queried by scripts/update_instance_catalog.py)",
        "licence": "facts (instance specifications)",
        "year": 0,
        "url": "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html",
        "retrieved": "",
    },
    "aws-ec2-moto": {
        "title": "AWS EC2 DescribeInstanceTypes data as packaged in moto 5.2.1 (moto/ec2/resources), "
        "answered through boto3 by moto's EC2 mock",
        "licence": "Apache-2.0 (moto); facts (instance specifications)",
        "year": 2025,
        "url": "https://github.com/getmoto/moto/tree/master/moto/ec2/resources",
        "retrieved": "2026-11-29",
    },
    "aws-burstable-docs": {
        "title": "AWS EC2 User Guide: burstable performance instances, baseline utilization per vCPU "
        "(t2/t3/t3a/t4g; values as transcribed in CCF's AWSInstanceTypes.ts)",
        "licence": "facts (cited figures)",
        "year": 2024,
        "url": "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-credits-baseline-concepts.html",
        "retrieved": "2026-11-29",
    },
    "gcp-machine-types-docs": {
        "title": "Google Cloud Compute Engine machine families resource and comparison guide "
        "(general-purpose, compute-optimized, memory-optimized, accelerator-optimized machine series)",
        "licence": "CC BY 4.0 (Google Cloud documentation)",
        "year": 2025,
        "url": "https://cloud.google.com/compute/docs/machine-resource",
        "retrieved": "2026-11-29",
    },
    "gcp-compute-api": {
        "title": "Google Compute Engine API machineTypes.aggregatedList and acceleratorTypes.aggregatedList",
        "licence": "facts (machine specifications)",
        "year": 0,
        "url": "https://cloud.google.com/compute/docs/reference/rest/v1/machineTypes/aggregatedList",
        "retrieved": "",
    },
    "azure-gpu-sizes-docs": {
        "title": "Microsoft Learn: GPU-accelerated VM sizes (NC A100 v4, NC H100 v5, ND H100 v5, ND H200 v5, "
        "NCads A10 v4, NVads A10 v5 series pages)",
        "licence": "facts (VM specifications); Microsoft Learn docs CC BY 4.0",
        "year": 2025,
        "url": "https://learn.microsoft.com/azure/virtual-machines/sizes/overview#gpu-accelerated",
        "retrieved": "2026-11-29",
    },
    "azure-v6-sizes-docs": {
        "title": "Microsoft Learn: Dpsv6, Dpdsv6, Dplsv6, Dpldsv6, Epsv6, Epdsv6 (Azure Cobalt 100), Dasv6, Dadsv6, "
        "Dalsv6, Daldsv6, Easv6, Eadsv6, Fasv6, Falsv6, Famsv6 (AMD EPYC 9004), Dsv6, Ddsv6, Dlsv6, Dldsv6, Esv6, "
        "Edsv6 (Intel Xeon Platinum 8573C) size series pages",
        "licence": "facts (VM specifications); Microsoft Learn docs CC BY 4.0",
        "year": 2025,
        "url": "https://learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/dpsv6-series",
        "retrieved": "2026-12-03",
    },
    "azure-series-docs": {
        "title": "Microsoft Learn: previous-generation and GPU size series pages (A, Av2, B, GS, NC, NCv2, NCv3, "
        "ND, NDv4, NP, NV), processor lines, for series no CCF table gives a platform",
        "licence": "facts (VM specifications); Microsoft Learn docs CC BY 4.0",
        "year": 2025,
        "url": "https://learn.microsoft.com/azure/virtual-machines/sizes/previous-gen-sizes-list",
        "retrieved": "2026-12-03",
    },
    "azure-skus-api": {
        "title": "Azure Resource SKUs - List (Microsoft.Compute/skus), virtualMachines capabilities",
        "licence": "facts (VM specifications)",
        "year": 0,
        "url": "https://learn.microsoft.com/rest/api/compute/resource-skus/list",
        "retrieved": "",
    },
}


def pick(*ids: str, retrieved: str | None = None) -> dict[str, dict]:
    """The descriptions of the given ids; live API sources get the run's date."""
    out = {}
    for source_id in ids:
        info = dict(SOURCES[source_id])
        if not info.get("retrieved"):
            info["retrieved"] = retrieved or ""
            info["year"] = int((retrieved or "0")[:4] or 0)
        out[source_id] = info
    return out
