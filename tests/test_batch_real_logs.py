"""Real Slurm log shapes are read whole, and every bad record is a reject with its line number.

The sacct fixtures are hand-written (tests/fixtures/SACCT_FIXTURES.md); expected figures are
worked out here from their lines."""

from __future__ import annotations

import csv
import json
import logging
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from carbon.batch.engine import Settings
from carbon.batch.readers import read
from carbon.batch.run import estimate_logs
from carbon.batch.summary import text, totals
from carbon.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc


def by_id(result):
    return result.jobs.set_index("job_id")


def test_jobidraw_header_and_epoch_times(caplog):
    with caplog.at_level(logging.WARNING):
        result = read(FIXTURES / "sacct_jobidraw_epoch.txt", "sacct")
    assert result.records == 3 and len(result.rejects) == 0  # three jobs; the step folds into 5001
    jobs = by_id(result)
    assert sorted(jobs.index) == ["5001", "5002", "5003"]
    # 1714557600 s since the epoch is 2024-05-01T10:00:00Z.
    assert jobs.loc["5001", "start"] == pd.Timestamp(datetime(2024, 5, 1, 10, tzinfo=UTC))
    assert jobs.loc["5001", "end"] == pd.Timestamp(datetime(2024, 5, 1, 12, tzinfo=UTC))
    assert jobs.loc["5001", "memory_gb"] == pytest.approx(
        64 * 2**30 / 1e9
    )  # ReqMem 0n: AllocTRES mem=64G (GiB) says how much
    assert jobs.loc["5001", "memory_used_gb"] == pytest.approx(12 * 2**30 / 1e9)  # MaxRSS of the .batch step (GiB)
    assert jobs.loc["5003", "memory_gb"] == pytest.approx(2000 * 2**20 / 1e9)  # 2000M (MiB) in decimal GB
    # 5002: 0n and no mem= anywhere: unknown (not 0), and said so.
    assert pd.isna(jobs.loc["5002", "memory_gb"])
    assert any("all of a node's memory" in r.message and "1 job(s)" in r.message for r in caplog.records)


def test_submit_and_elapsed_without_start_are_read_and_flagged():
    result = read(FIXTURES / "sacct_submit_elapsed.txt", "sacct")
    assert len(result.jobs) == 5 and len(result.rejects) == 0
    jobs = by_id(result)
    assert jobs["start_from_submit"].all()
    # 7001: Submit 2022-07-01T09:15, Elapsed 03:00:00.
    assert jobs.loc["7001", "start"] == pd.Timestamp("2022-07-01T09:15:00Z")
    assert jobs.loc["7001", "end"] == pd.Timestamp("2022-07-01T12:15:00Z")
    assert jobs.loc["7003", "end"] - jobs.loc["7003", "start"] == pd.Timedelta(days=1)
    # GPUs from AllocGRES: gpu:2, and gpu:a100:4(IDX:0-3).
    assert jobs.loc["7001", "gpus"] == 2 and jobs.loc["7001", "gpu_model"] is None
    assert jobs.loc["7002", "gpus"] == 4 and jobs.loc["7002", "gpu_model"] == "a100"
    assert jobs.loc["7003", "memory_gb"] == pytest.approx(32 * 2**30 / 1e9)  # 2Gc x 16 CPUs (GiB), in decimal GB
    assert jobs.loc["7005", "state"] == "CANCELLED"


def test_a_start_from_submit_is_priced_at_a_coarser_granularity(tmp_path):
    """US-BA-CISO has hourly intensity for 2022: a job with a real Start gets its hours' mean, the
    same job known only by its submit time gets a coarser value (its queue wait is unknown)."""
    with_start = tmp_path / "with_start.txt"
    with_start.write_text(
        "JobID|Start|End|Elapsed|NCPUS|ReqMem|State\n7001|2022-07-01T09:15:00|2022-07-01T12:15:00|03:00:00|8|32G|COMPLETED\n"
    )
    without = tmp_path / "submit_only.txt"
    without.write_text("JobID|Submit|Elapsed|NCPUS|ReqMem|State\n7001|2022-07-01T09:15:00|03:00:00|8|32G|COMPLETED\n")
    settings = Settings(region="US-BA-CISO")
    hourly = estimate_logs([with_start], format_name="sacct", settings=settings).results
    coarse = estimate_logs([without], format_name="sacct", settings=settings).results
    assert hourly.loc[0, "intensity_granularity"] == "hour" and not hourly.loc[0, "start_from_submit"]
    assert coarse.loc[0, "intensity_granularity"] in ("month", "year") and coarse.loc[0, "start_from_submit"]


def test_pipe_in_job_name_duplicates_clusters_and_impossible_values():
    result = read(FIXTURES / "sacct_odd_records.txt", "sacct")
    assert result.records == 12 and len(result.jobs) + len(result.rejects) == 12
    jobs = result.jobs
    assert "8001" in set(jobs["job_id"])  # JobName "sweep|lr=0.1|seed=3": the only free-text field
    assert jobs.loc[jobs["job_id"] == "8001", "cpus"].item() == 2
    # 8002 on alpha twice (lines 3, 4) and on beta (line 5): the repeat is a duplicate, beta's is another job.
    assert sorted(jobs.loc[jobs["job_id"] == "8002", "line"]) == [3, 5]
    reasons = dict(zip(result.rejects["line"], result.rejects["reason"]))
    assert reasons == {
        4: "duplicate of line 3",
        6: "memory_gb 1.07374e+308 is outside 0..1e+08 (GB)",  # ReqMem 1e308G: GiB in decimal GB
        7: "NCPUS '-2' is not a count (0 or more)",
        8: "ConsumedEnergyRaw '-5' is not a count (0 or more)",
        9: "NCPUS 'abc' is not a count (0 or more)",
    }
    assert result.rejects["line"].dtype == "int64"


def test_failure_endings_are_kept_apart_in_the_summary():
    result = estimate_logs([FIXTURES / "sacct_odd_records.txt"], format_name="sacct", settings=Settings(region="FR"))
    everything = totals(result.results)
    (summary,) = everything["by_basis"].values()  # one basis: France's lifecycle figures
    each = {
        state: float(result.results.loc[result.results["state"] == state, "co2e_kg"].sum())
        for state in ("TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "FAILED")
    }
    assert all(value > 0 for value in each.values())
    assert summary["timeout_co2e_kg"] == pytest.approx(each["TIMEOUT"])
    assert summary["out_of_memory_co2e_kg"] == pytest.approx(each["OUT_OF_MEMORY"])
    assert summary["node_fail_co2e_kg"] == pytest.approx(each["NODE_FAIL"])
    assert summary["failed_co2e_kg"] == pytest.approx(each["FAILED"])  # FAILED alone, not the others
    line = text(everything)
    assert "timed out" in line and "out of memory" in line and "node failure" in line


BAD_CSV = """job_id,start,end,region,cpus,cpu_util,gpus,gpu_util,memory_gb,measured_kwh,cluster
a,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,4,,x
b,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,-1,,,4,,x
c,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,1,-3,4,,x
d,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,-100,,x
e,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,4,-5,x
f,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,-2,,4,,x
g,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,inf,0.5,,,4,,x
h,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,nan,,x
a,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,4,,x
a,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,0.5,,,4,,y
i,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,2,85,,,4,,x
"""


def test_every_bad_generic_record_is_a_reject_and_the_batch_goes_on(tmp_path):
    log = tmp_path / "jobs.csv"
    log.write_text(BAD_CSV)
    result = estimate_logs([log], settings=Settings(region="FR"))
    assert result.read == 11
    assert sorted(result.results["job_id"]) == ["a", "a"]  # line 2, and line 11 on cluster y
    assert (result.results["co2e_kg_low"] >= 0).all() and (result.results["co2e_kg"] >= 0).all()
    reasons = dict(zip(result.rejects["line"], result.rejects["reason"]))
    assert reasons == {
        3: "cpu_util -1 is outside 0..1 (a fraction, not a percentage)",
        4: "gpu_util -3 is outside 0..1 (a fraction, not a percentage)",
        5: "memory_gb -100 is outside 0..1e+08 (GB)",
        6: "measured_kwh -5 is outside 0..1e+07 (kWh)",
        7: "gpus -2 is outside 0..1e+06 (GPUs)",
        8: "cpus 'inf' is not a number",
        9: "memory_gb 'nan' is not a number",
        10: "duplicate of line 2",
        12: "cpu_util 85 is outside 0..1 (a fraction, not a percentage)",
    }
    assert all(isinstance(line, int) for line in result.rejects["line"].tolist())


def test_jsonl_non_finite_and_duplicates(tmp_path):
    log = tmp_path / "jobs.jsonl"
    base = {"start": "2023-01-01T00:00:00Z", "end": "2023-01-01T01:00:00Z", "region": "FR", "cpus": 1}
    rows = [{**base, "job_id": "x"}, {**base, "job_id": "y", "measured_kwh": float("inf")}, {**base, "job_id": "x"}]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")  # json writes inf as Infinity
    result = read(log)
    assert list(result.jobs["job_id"]) == ["x"]
    assert dict(zip(result.rejects["line"], result.rejects["reason"])) == {
        2: "measured_kwh inf is outside 0..1e+07 (kWh)",
        3: "duplicate of line 1",
    }


def test_a_csv_field_over_the_csv_modules_limit_is_a_reject(tmp_path):
    log = tmp_path / "jobs.csv"
    huge = "z" * 140_000
    log.write_text(
        "job_id,start,end,region,cpus\n"
        "a,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,1\n"
        f"b,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,{huge}\n"
        "c,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,1\n"
    )
    result = read(log)
    assert list(result.jobs["job_id"]) == ["a", "c"]
    assert result.rejects["line"].tolist() == [3] and "field larger than field limit" in result.rejects["reason"][0]


def test_a_batch_with_every_record_rejected_exits_1_and_rejects_round_trip(tmp_path, capsys):
    log = tmp_path / "jobs.csv"
    nasty = 'quote " comma , cr \r end'
    with log.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["job_id", "start", "end", "region", "cpus", "note"])
        writer.writerow(["a", "not a time", "2023-01-01T01:00:00Z", "FR", "1", nasty])
        writer.writerow(["b", "2023-01-01T00:00:00Z", "2023-01-01T01:00:00Z", "FR", "-4", "x"])
    rejects = tmp_path / "rejects.csv"
    assert main(["batch", str(log), "--region", "FR", "--rejects", str(rejects)]) == 1
    assert "read 2, estimated 0, rejected 2" in capsys.readouterr().out
    with rejects.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["line"] for row in rows] == ["2", "3"]  # integers, not 2.0
    assert nasty in rows[0]["text"]  # the quote, the comma and the bare CR read back as written


@pytest.mark.parametrize("umask, mode", [(0o027, 0o640), (0o002, 0o664)])
def test_output_files_honour_the_umask(tmp_path, capsys, umask, mode):
    log = tmp_path / "jobs.csv"
    log.write_text("job_id,start,end,region,cpus\na,2023-01-01T00:00:00Z,2023-01-01T01:00:00Z,FR,1\n")
    previous = os.umask(umask)
    try:
        assert main(["batch", str(log), "--out", str(tmp_path / "out.csv"), "--summary", str(tmp_path / "s.csv")]) == 0
    finally:
        os.umask(previous)
    for name in ("out.csv", "s.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode  # 0666 less the umask, not 0600


def test_whole_node_memory_of_unknown_size_is_a_range_not_zero():
    """Job 5002 asks for all of its node's memory (ReqMem 0n), and neither AllocTRES nor a hardware
    map says how much: its RAM is priced at 2 CPUs x the catalogs' median GB per vCPU, with a range
    from 0 to their 90th percentile, instead of silently 0 W."""
    import statistics

    from carbon.bundle import table

    result = estimate_logs([FIXTURES / "sacct_jobidraw_epoch.txt"], format_name="sacct", settings=Settings(region="FR"))
    job = result.results.set_index(result.results["job_id"].astype(str)).loc["5002"]
    ratios = [
        float(r["memory_gib"]) * 2**30 / 1e9 / float(r["vcpus"])
        for provider in ("aws", "gcp", "azure")
        for r in table(f"instances_{provider}")
        if r["vcpus"] and float(r["vcpus"]) and r["memory_gib"] and not (r["gpu_count"] and float(r["gpu_count"]))
    ]
    memory_gb = 2 * statistics.median(ratios)
    w_per_gib = float(next(r for r in table("constants") if r["name"] == "memory_w_per_gb")["value"])
    hours = 15 / 60  # Elapsed 00:15:00
    assert job["memory_gb"] == pytest.approx(memory_gb)
    assert job["ram_kwh"] == pytest.approx(memory_gb / (2**30 / 1e9) * w_per_gib * hours / 1000)
    assert job["ram_kwh"] > 0
    # The known-size jobs are untouched: 5001 has AllocTRES mem=64G.
    assert result.results.set_index(result.results["job_id"].astype(str)).loc["5001", "memory_gb"] == pytest.approx(
        64 * 2**30 / 1e9
    )
