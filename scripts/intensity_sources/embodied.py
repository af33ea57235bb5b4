"""Embodied (manufacturing) emissions per cloud instance type, from Cloud Carbon Footprint's tables.

For each instance type: the embodied kg CO2e of the whole host server ("platform") and its vCPU
count, so that an instance's share is instance vCPUs / platform vCPUs (CCF's method: embodied x
time used / lifespan x reserved / total resources). Central figure and range per provider:

- aws: `output/coefficients-aws-embodied.csv` total (the Teads method, 2021) is the central value;
  the range spans it and the 2026 platform figure of `data/aws-instances-latest-2026.csv` (t CO2e)
  where that file lists the type. Platform vCPUs: `data/aws-instances.csv`.
- gcp, azure: one row per possible microarchitecture in `coefficients-{gcp,azure}-embodied.csv`;
  central = their mean, range = their min and max. Platform vCPUs: `data/{gcp,azure}-instances.csv`.

The lifespan (CCF's SERVER_EXPECTED_LIFESPAN, 35040 h) is the `server_lifespan_h` constant.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .rawcsv import RawDataError, fmt, read_csv
from .table import Table

CCF = "cloud-carbon-footprint/ccf-coefficients"
KG_PER_T = Decimal(1000)

# Upstream rows whose instance has more vCPUs than its host, so no share can be computed: left out
# of the table (an instance type missing from it has no embodied figure). Any other such row is an error.
INCONSISTENT = {("azure", "M416ms v2"), ("azure", "M416s v2"), ("azure", "NC64as T4 v3")}


def _platform_vcpus(raw: Path, provider: str) -> dict[str, tuple[Decimal, Decimal]]:
    """type -> (instance vCPUs, platform vCPUs)."""
    if provider == "aws":
        file, type_column = f"{CCF}/data/aws-instances.csv", "Instance type"
        instance_column, platform_column = "Instance vCPU", "Platform Total Number of vCPU"
    else:
        file = f"{CCF}/data/{provider}-instances.csv"
        type_column = "Machine type" if provider == "gcp" else "Virtual Machine"
        instance_column, platform_column = "Instance vCPUs", "Platform vCPUs (highest vCPU possible)"
    found: dict[str, tuple[Decimal, Decimal]] = {}
    for row in read_csv(raw / file, (type_column, instance_column, platform_column), label=file):
        instance, platform = row.number(instance_column), row.number(platform_column)
        if (provider, row.get(type_column)) in INCONSISTENT:
            continue
        if not 0 < instance <= platform:
            raise RawDataError(row.file, row.line, platform_column, f"{instance} instance vCPUs of {platform}")
        found[row.get(type_column)] = (instance, platform)
    return found


def _totals(raw: Path, provider: str) -> dict[str, list[tuple[Decimal, str, int]]]:
    file = f"{CCF}/output/coefficients-{provider}-embodied.csv"
    totals: dict[str, list[tuple[Decimal, str, int]]] = {}
    for row in read_csv(raw / file, ("type", "total"), label=file):
        value = row.number("total")
        if not value > 0:
            raise RawDataError(row.file, row.line, "total", f"embodied total {value} kg is not positive")
        totals.setdefault(row.get("type"), []).append((value, row.file, row.line))
    return totals


def _aws_2026(raw: Path) -> dict[str, Decimal]:
    file = f"{CCF}/data/aws-instances-latest-2026.csv"
    column = "Platform Embedded Emissions (mtCo2eq)"
    return {
        row.get("Instance Type"): row.number(column) * KG_PER_T
        for row in read_csv(raw / file, ("Instance Type", column), label=file)
        if row.get(column).strip()
    }


def build(raw: Path) -> Table:
    rows, origin = [], []
    aws_2026 = _aws_2026(raw)
    for provider in ("aws", "gcp", "azure"):
        vcpus = _platform_vcpus(raw, provider)
        for instance_type, values in _totals(raw, provider).items():
            if instance_type not in vcpus:
                continue  # a managed-service node type without platform data: not an instance we price
            instance, platform = vcpus[instance_type]
            figures = [value for value, _, _ in values]
            if provider == "aws":
                central = figures[0]
                figures.append(aws_2026.get(instance_type, central))
            else:
                central = sum(figures) / len(figures)
            rows.append(
                (
                    provider,
                    instance_type,
                    fmt(instance),
                    fmt(platform),
                    fmt(central, 2),
                    fmt(min(figures), 2),
                    fmt(max(figures), 2),
                    "ccf-coefficients",
                )
            )
            origin.append(values[0][1:])
    return Table(
        "embodied",
        tuple(rows),
        "Embodied (manufacturing) kg CO2e of the host server of each cloud instance type, with the instance's "
        "and the host's vCPUs (CCF's Teads-method coefficients; range over CCF's published figures)",
        ("ccf-coefficients",),
        {
            "platform_embodied_kg": "kg CO2e per whole host server",
            "instance_vcpus": "vCPUs",
            "platform_vcpus": "vCPUs of the whole host",
        },
        tuple(origin),
    )
