"""Embodied emissions: the README's m5.xlarge hour reproduced by hand from the bundled table row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from carbon.cli import main
from carbon.embodied import amortised_kg
from carbon.model import Bounds

DATA = Path(__file__).resolve().parents[1] / "intensity_data"


def table_row(provider: str, instance_type: str) -> dict[str, str]:
    with open(DATA / "embodied.csv", newline="") as handle:
        (row,) = [r for r in csv.DictReader(handle) if (r["provider"], r["instance_type"]) == (provider, instance_type)]
    return row


def lifespan_h() -> float:
    with open(DATA / "constants.csv", newline="") as handle:
        return float(next(r["value"] for r in csv.DictReader(handle) if r["name"] == "server_lifespan_h"))


def run_json(capsys, *args: str) -> dict:
    assert main(["estimate", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_m5_xlarge_hour_by_hand(capsys):
    row = table_row("aws", "m5.xlarge")
    # the table row: CCF's coefficients-aws-embodied.csv total, Teads aws-instances.csv vCPUs,
    # and the 2026 platform figure (1.2 t) as the low end
    assert (row["platform_embodied_kg"], row["instance_vcpus"], row["platform_vcpus"]) == ("1610.79", "4", "96")
    assert (row["platform_embodied_kg_low"], row["platform_embodied_kg_high"]) == ("1200", "1610.79")
    assert lifespan_h() == 35040  # CCF SERVER_EXPECTED_LIFESPAN, 4 years
    # 1610.79 kg x (1 h / 35040 h) x (4 / 96) = 0.0019154 kg = 1.92 g
    expected = 1610.79 * (1 / 35040) * (4 / 96)
    assert expected == pytest.approx(0.00191542, rel=1e-5)
    payload = run_json(
        capsys, "--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "1h", "--embodied"
    )
    assert payload["embodied_co2e_kg"] == pytest.approx(expected)
    assert payload["embodied_co2e_kg_low"] == pytest.approx(1200 * (1 / 35040) * (4 / 96))
    assert payload["embodied_co2e_kg_high"] == pytest.approx(expected)
    assert payload["embodied"]["lifetime_years"] == 4
    assert payload["sources"]["embodied"]["licence"] == "Apache-2.0"
    # reported apart: the operational figure is the same with or without --embodied
    plain = run_json(capsys, "--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "1h")
    assert payload["co2e_kg"] == plain["co2e_kg"] and "embodied_co2e_kg" not in plain


def test_text_report_shows_the_arithmetic(capsys):
    assert (
        main(
            ["estimate", "--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "1h", "--embodied"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Embodied:   1.92 g CO2e (range 1.43 - 1.92 g)" in out
    assert "1610.79 kg (host) x 1 h / 35040 h lifetime (4 years" in out and "x 4/96 vCPUs" in out


def test_lifetime_override_scales_inversely(capsys, monkeypatch, tmp_path):
    args = ["--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "2h", "--embodied"]
    six = run_json(capsys, *args, "--lifetime-years", "6")
    assert six["embodied_co2e_kg"] == pytest.approx(1610.79 * 2 / (6 * 8760) * 4 / 96)
    assert six["embodied"]["lifetime_origin"] == "user: 6 years"
    monkeypatch.setenv("CARBON_EMBODIED_LIFETIME_YEARS", "5")
    five = run_json(capsys, *args)
    assert five["embodied_co2e_kg"] == pytest.approx(1610.79 * 2 / (5 * 8760) * 4 / 96)


def test_without_an_instance_type_or_with_a_bad_lifetime_one_line_error(capsys):
    assert main(["estimate", "--region", "FR", "--cpus", "4", "--duration", "1h", "--embodied"]) == 2
    assert "need a cloud instance type" in capsys.readouterr().err
    args = ["estimate", "--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "1h"]
    assert main([*args, "--embodied", "--lifetime-years", "0"]) == 2
    assert "argument --lifetime-years: must be above 0" in capsys.readouterr().err


def test_gcp_range_spans_its_microarchitecture_rows():
    row = table_row("gcp", "e2-standard-2")
    low, central, high = (
        float(row[k]) for k in ("platform_embodied_kg_low", "platform_embodied_kg", "platform_embodied_kg_high")
    )
    assert low <= central <= high
    assert amortised_kg(Bounds(central, low, high), 3.0, 35040.0, 0.5).central == pytest.approx(central * 3 / 35040 / 2)


def test_carbon_run_embodied_on_an_emulated_m5_xlarge(tmp_path):
    """`carbon run --embodied` on EC2 emulated through IMDSv2 (loopback server): the detected instance
    type's row, amortised over the run's duration."""
    import os
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    import dmi
    from imds_aws import ImdsAws

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
        command = [sys.executable, "-m", "carbon", "run", "--interval", "0.2", "--output", str(tmp_path / "runs")]
        command += ["--summary", str(summary), "--embodied", "--lifetime-years", "5", "--"]
        command += [sys.executable, "-c", "import time; time.sleep(0.5)"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(summary.read_text())
    assert result["hardware"]["instance_type"] == "m5.xlarge"
    hours = result["duration_s"] / 3600
    assert result["embodied_co2e_kg"] == pytest.approx(1610.79 * hours / (5 * 8760) * 4 / 96)
    assert result["embodied"]["lifetime_origin"] == "user: 5 years"
    assert "Embodied:" in done.stderr


def test_tracker_without_an_instance_type_notes_it_and_carries_on(tmp_path, monkeypatch):
    import sys

    import carbon

    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)
    notes: list[str] = []
    with carbon.track(region="FR", write=False, detect=False, embodied=True, on_note=notes.append) as tracker:
        pass
    assert "embodied_co2e_kg" not in tracker.estimate.to_dict()
    assert any("embodied emissions not reported" in note for note in notes)


def test_carbon_batch_embodied_per_job(tmp_path, capsys):
    import pandas as pd

    log = tmp_path / "jobs.csv"
    log.write_text(
        "job_id,start,end,region,instance_type,cpus\n"
        "1,2024-03-01T00:00:00Z,2024-03-01T02:00:00Z,aws:us-east-1,m5.xlarge,4\n"
        "2,2024-03-01T00:00:00Z,2024-03-01T03:00:00Z,aws:us-east-1,m5.xlarge,2\n"
        "3,2024-03-01T00:00:00Z,2024-03-01T01:00:00Z,FR,,8\n"
    )
    out = tmp_path / "out.csv"
    assert main(["batch", str(log), "--out", str(out), "--embodied"]) == 0
    printed = capsys.readouterr().out
    results = pd.read_csv(out).set_index("job_id")
    # by hand: 1610.79 kg x hours / 35040 h x job vCPUs / 96 host vCPUs
    assert results.loc[1, "embodied_co2e_kg"] == pytest.approx(1610.79 * 2 / 35040 * 4 / 96)
    assert results.loc[2, "embodied_co2e_kg"] == pytest.approx(1610.79 * 3 / 35040 * 2 / 96)
    assert results.loc[2, "embodied_co2e_kg_low"] == pytest.approx(1200 * 3 / 35040 * 2 / 96)
    assert pd.isna(results.loc[3, "embodied_co2e_kg"])  # no instance type: no figure
    total = 1610.79 * (2 * 4 + 3 * 2) / 35040 / 96
    assert f"embodied: {total:.4g} kg CO2e" in printed and "1 job(s) without a cloud instance type" in printed
