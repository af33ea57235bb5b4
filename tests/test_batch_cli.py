"""`carbon batch` end to end, in-process (the suite's network guard is active)."""

from __future__ import annotations

import pandas as pd
import pytest

from batch_support import (
    AWS_PUE,
    FIXTURES,
    US_2022_02,
    bundle,  # noqa: F401  (the fixture, used through pytestmark)
)
from carbon.batch.output import write_table
from carbon.cli import main
from datasets import unpacked

ESTIMATE_KEYS = (
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "intensity_g_per_kwh",
    "pue",
)

pytestmark = pytest.mark.usefixtures("bundle")


def test_sacct_to_parquet_with_rejects(tmp_path, capsys):
    hardware = tmp_path / "hw.toml"
    hardware.write_text(
        '[partitions.gpu]\ninstance_type = "p3.2xlarge"\n[partitions.cpu]\ncpu_model = "Intel Xeon Gold 6248"\ncpus = 40\n'
    )
    out, rejects, summary = tmp_path / "out.parquet", tmp_path / "rejects.csv", tmp_path / "summary.csv"
    code = main(
        [
            "batch",
            str(FIXTURES / "sacct_formats.txt"),
            "--region",
            "US",
            "--hardware",
            str(hardware),
            "--out",
            str(out),
            "--rejects",
            str(rejects),
            "--summary",
            str(summary),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "read 9, estimated 6, rejected 3" in printed
    results = pd.read_parquet(out)
    assert set(ESTIMATE_KEYS) <= set(results.columns) and len(results) == 6
    assert pd.read_csv(rejects)["line"].tolist() == [13, 14, 15]
    table = pd.read_csv(summary)
    assert set(table["dimension"]) == {"user", "account", "partition", "project", "month", "state"}
    users = table[table["dimension"] == "user"]
    assert users["co2e_kg"].sum() == pytest.approx(results["co2e_kg"].sum())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_what_if_line_and_csv_output(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "batch",
                str(FIXTURES / "sacct_excerpt.txt"),
                "--region",
                "aws:us-east-1",
                "--what-if-region",
                "FR",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "read 9, estimated 9, rejected 0" in printed and "what if in FR" in printed
    results = pd.read_csv(out)
    assert "what_if_co2e_kg" in results.columns
    row = results.set_index("job_id").loc[67108977]
    assert row["intensity_g_per_kwh"] == US_2022_02 and row["pue"] == AWS_PUE


def test_bad_region_is_a_usage_error(capsys):
    assert main(["batch", str(FIXTURES / "sacct_excerpt.txt"), "--region", "Atlantis"]) == 2
    assert "unknown region" in capsys.readouterr().err


def test_failed_write_leaves_no_file(tmp_path):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("disk full")

        __repr__ = __str__

    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        write_table(pd.DataFrame({"a": [Unprintable()]}), target)
    assert list(tmp_path.iterdir()) == []


def test_full_fixture_from_the_command_line(capsys, tmp_path):
    log = unpacked("slurm-sacct/sacct-output-v1.txt", tmp_path)
    assert main(["batch", str(log), "--region", "aws:us-east-1", "--engine", "dask"]) == 0
    assert "read 483, estimated 483, rejected 0" in capsys.readouterr().out


@pytest.mark.slow
def test_malformed_line_in_a_million_line_log(tmp_path, capsys):
    line = (
        "COMPLETED|{}|1|1G|1|m5.large|2022-03-01T00:00:00|2022-03-01T00:00:00|2022-03-01T00:00:00|"
        "00:10:00|00:00:00|2022-03-01T00:10:00|0:0|0:0|1|1||||||00:10:00|00:01.000|00:01.000|00:02.000\n"
    )
    log = tmp_path / "big.txt"
    with log.open("w") as handle:
        for i in range(1_000_000):
            handle.write("COMPLETED|cut off here\n" if i == 500_000 else line.format(i))
    rejects = tmp_path / "rejects.csv"
    assert main(["batch", str(log), "--region", "aws:us-east-1", "--rejects", str(rejects)]) == 0
    assert "read 1000000, estimated 999999, rejected 1" in capsys.readouterr().out
    assert pd.read_csv(rejects)["line"].tolist() == [500_001]
