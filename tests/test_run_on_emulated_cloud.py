"""`carbon run` on an emulated EC2 m5.xlarge: the instance type found through IMDSv2 decides the CPU
model (its microarchitecture's coefficients) and the region decides the grid."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dmi
from datasets import csv_rows
from imds_aws import ImdsAws

ROOT = Path(__file__).resolve().parents[1]


def test_carbon_run_prices_an_emulated_m5_xlarge_with_its_platform_and_grid(tmp_path):
    rows = csv_rows("cloud-carbon-footprint/derived/ccf_app_aws_ec2_instance_types.csv")
    architecture = next(r for r in rows if r["instance_type"] == "m5.xlarge")["cpu_microarchitectures"]
    (tmp_path / "carbon.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARBON_", "AWS_"))}
    with ImdsAws(instance_type="m5.xlarge", region="us-east-1", zone="us-east-1b", http_tokens="required") as imds:
        env.update(
            AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
            CARBON_DMI_ROOT=str(dmi.write_dmi(tmp_path / "dmi", dmi.AWS_NITRO)),
            CARBON_POWERCAP_ROOT=str(tmp_path / "no-powercap"),
            CARBON_CONFIG=str(tmp_path / "carbon.toml"),
            CARBON_CACHE_DIR=str(tmp_path / "cache"),
        )
        summary = tmp_path / "summary.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "carbon",
                "run",
                "--interval",
                "0.2",
                "--output",
                str(tmp_path / "runs"),
                "--summary",
                str(summary),
                "--",
                sys.executable,
                "-c",
                "import time; time.sleep(1.0)",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        tokens = imds.issued_tokens()
    result = json.loads(summary.read_text())
    assert result["location"] == {"provider": "aws", "region": "aws:us-east-1", "zone": "US-VA", "country": "US"}
    assert result["hardware"]["instance_type"] == "m5.xlarge"
    # 16 GiB, reported in carbon's unit, the decimal GB
    assert (result["hardware"]["vcpus"], result["hardware"]["memory_gb"]) == (4, pytest.approx(16 * 2**30 / 10**9))
    assert architecture in result["sources"]["cpu_power"]["detail"]
    assert "US-VA" in result["sources"]["intensity"]["detail"]
    assert result["breakdown"]["cpu_method"] == "modelled"
    # The IMDSv2 session token never leaks into what the user sees.
    assert tokens and not any(token in done.stderr + summary.read_text() for token in tokens)
