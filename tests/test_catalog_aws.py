"""AWS catalog: DescribeInstanceTypes through boto3 against moto's EC2 mock, enriched from CCF/Teads.

Expected figures are AWS's published specifications (m5.xlarge 4 vCPU / 16 GiB; p4d.24xlarge
8 x A100 40 GB; t3.micro 10 % baseline per vCPU) and CPU names from the raw datasets.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from datasets import SAMPLES
from instance_catalog import aws
from instance_catalog.ccf import Datasets
from instance_catalog.cpu_arch import architecture
from instance_catalog.table import ApiError

# The samples keep the raw rows of the families asserted below (m5, t3, c7g, r6a, p4d, p3).
RAW = SAMPLES
CCF_DATA = RAW / "cloud-carbon-footprint" / "ccf-coefficients" / "data"
REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="module")
def api_types():
    with mock_aws():
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        return aws.fetch(session, REGIONS)


@pytest.fixture(scope="module")
def rows(api_types):
    enrichment = aws.enrichment_from_datasets(Datasets(RAW))
    return {r.instance_type: r for r in aws.to_rows(api_types, enrichment, "aws-ec2-moto")}


def test_paginated_union_over_regions_lists_current_and_gpu_types(api_types):
    assert {"m5.xlarge", "p4d.24xlarge", "t3.micro", "c7g.large", "g5.xlarge"} <= set(api_types)
    assert len(api_types) > 500  # well beyond one DescribeInstanceTypes page (100 items)


def test_m5_xlarge_has_four_vcpus_and_16_gib(rows):
    row = rows["m5.xlarge"]
    assert (row.vcpus, row.memory_gib, row.family, row.gpu_count) == (4, 16, "m5", 0)


def test_p4d_has_eight_a100_40gb(rows):
    row = rows["p4d.24xlarge"]
    assert (row.vcpus, row.memory_gib, row.gpu_model, row.gpu_count) == (96, 1152, "A100 SXM4 40GB", 8)


def test_gpu_partitions_are_fractional_counts(rows):
    # g6f.large: one eighth of an L4 (GpuPartitionSize 0.125, Count 0).
    assert (rows["g6f.large"].gpu_model, rows["g6f.large"].gpu_count) == ("L4", 0.125)


def test_t3_micro_is_burstable_with_aws_documented_10_percent_baseline(rows):
    assert rows["t3.micro"].burstable_baseline_fraction == 0.10
    assert rows["t3.nano"].burstable_baseline_fraction == 0.05
    assert rows["m5.xlarge"].burstable_baseline_fraction is None


def test_cpu_models_and_microarchitectures_come_from_the_datasets(rows):
    assert rows["m5.xlarge"].cpu_model == "Intel Xeon Platinum 8175M"
    assert rows["m5.xlarge"].cpu_microarchitecture == "Skylake"
    assert rows["c7g.large"].cpu_microarchitecture == "Graviton3"
    assert rows["r6a.large"].cpu_microarchitecture == "EPYC 3rd Gen"  # AMD EPYC 7R13 (Milan)
    # CCF 2026 says 8175M, Teads says 8275CL for p4d: both generations stay possible.
    assert set(rows["p4d.24xlarge"].cpu_microarchitecture.split("|")) == {"Cascade Lake", "Skylake"}


def test_retired_types_only_ccf_lists_are_kept(rows, api_types):
    assert "p3.2xlarge" not in api_types
    p3 = rows["p3.2xlarge"]
    assert (p3.vcpus, p3.memory_gib, p3.gpu_count, p3.source) == (8, 61, 1, "ccf-app")


@pytest.mark.parametrize(
    "cpu, arch",
    [
        ("Intel Xeon Platinum 8175M", "Skylake"),
        ("Intel Xeon Platinum 8259CL", "Cascade Lake"),
        ("Intel Xeon E5-2686 v4", "Broadwell"),
        ("Intel Xeon E5-2670", "Sandy Bridge"),
        ("Intel Xeon E5-2670 v2", "Ivy Bridge"),
        ("AMD EPYC 7571", "EPYC 1st Gen"),
        ("2nd Gen AMD EPYC 7R32", "EPYC 2nd Gen"),
        ("AMD EPYC 9R14", "EPYC 4th Gen"),
        ("AWS Graviton3E Processor", "Graviton3E"),
        ("Intel Core i7-8700B", "Coffee Lake"),
        ("Intel Xeon Gold 6338", "Ice Lake"),
        ("Apple M2 with 8-core CPU", ""),
    ],
)
def test_cpu_model_to_ccf_architecture(cpu, arch):
    assert architecture(cpu, CCF_DATA) == arch


def test_enrichment_from_a_previous_catalog_reuses_cpu_facts(api_types):
    previous = [
        {
            "instance_type": "m5.xlarge",
            "cpu_model": "Intel Xeon Platinum 8175M",
            "cpu_microarchitecture": "Skylake",
            "burstable_baseline_fraction": "",
        },
        {
            "instance_type": "t3.micro",
            "cpu_model": "",
            "cpu_microarchitecture": "",
            "burstable_baseline_fraction": "0.1",
        },
    ]
    rows = {r.instance_type: r for r in aws.to_rows(api_types, aws.enrichment_from_catalog(previous), "aws-ec2-api")}
    assert rows["m5.2xlarge"].cpu_microarchitecture == "Skylake"  # by family: m5's only known platform
    assert rows["t3.micro"].burstable_baseline_fraction == 0.1
    assert "t3.small" in aws.burstable_without_baseline(api_types, aws.enrichment_from_catalog(previous))


def test_api_refusal_is_a_typed_error():
    """A 403 UnauthorizedOperation (botocore's own Stubber answers as EC2 would) becomes ApiError."""
    from botocore.stub import Stubber

    client = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y").client("ec2", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(
        "describe_instance_types",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        http_status_code=403,
    )
    stubber.activate()

    class OneClientSession:
        region_name = "us-east-1"

        def client(self, *_args, **_kwargs):
            return client

    with pytest.raises(ApiError, match="UnauthorizedOperation"):
        aws.fetch(OneClientSession(), ["us-east-1"])


def test_cli_offline_build_is_byte_identical_across_runs(tmp_path):
    import update_instance_catalog

    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert (
            update_instance_catalog.main(
                [
                    "--provider",
                    "aws",
                    "--from-bundle-sources",
                    "--regions",
                    "us-east-1",
                    "--out",
                    str(out),
                    "--datasets",
                    str(RAW),
                    "--retrieved",
                    "2026-11-29",
                ]
            )
            == 0
        )
    assert (outs[0] / "instances_aws.csv").read_bytes() == (outs[1] / "instances_aws.csv").read_bytes()
    assert (outs[0] / "manifest.json").read_bytes() == (outs[1] / "manifest.json").read_bytes()
