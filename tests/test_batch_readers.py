"""Readers: each log format becomes the same job table, and every record is accounted for.

Expected values are worked out here from the log lines themselves (fixtures shown in the files)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from batch_support import FIXTURES
from carbon.batch.hardware import load_map
from carbon.batch.readers import read
from carbon.batch.readers.sacct import parse_duration_s, parse_gpus, parse_memory_gb
from datasets import unpacked


def by_id(result):
    return result.jobs.set_index("job_id")


def test_slurm_durations():
    got = parse_duration_s(["1-02:03:04", "00:05:16", "01:07.402", "00:30", "25:00.500", "UNLIMITED", ""])
    expected = [86400 + 2 * 3600 + 3 * 60 + 4, 316, 67.402, 30, 1500.5]
    assert list(got[:5]) == pytest.approx(expected)
    assert math.isnan(got[5]) and math.isnan(got[6])


def test_slurm_memory_and_gpus():
    gb, per = parse_memory_gb(["100M", "4Gc", "16Gn", "0n", "114944K", "1T"])
    # Slurm sizes are binary (M = MiB, G = GiB); carbon's unit is the decimal GB: GiB x 1.073741824
    gib = [100 / 1024, 4, 16, 0, 114944 / 1024**2, 1024]
    assert list(gb) == pytest.approx([g * 2**30 / 10**9 for g in gib])
    assert list(per) == ["", "c", "n", "n", "", ""]
    count, model = parse_gpus(["cpu=8,gres/gpu=4,mem=32G", "cpu=2,gres/gpu:a100=2,node=1", "cpu=1", ""])
    assert list(count[:2]) == [4, 2] and math.isnan(count[2]) and math.isnan(count[3])
    assert list(model) == [None, "a100", None, None]


def test_sacct_without_header_folds_steps():
    # 18 data lines: 9 jobs, each followed by its .batch step.
    result = read(FIXTURES / "sacct_excerpt.txt", "sacct")
    assert len(result.jobs) == 9 and len(result.rejects) == 0 and result.records == 9
    assert not result.jobs["job_id"].str.contains(".", regex=False).any()
    jobs = by_id(result)
    first = jobs.loc["67108865"]
    # Elapsed 00:05:16 = 316 s, TotalCPU 02:10.584 = 130.584 s, 1 CPU; MaxRSS 114944K on the step.
    assert first["cpu_util"] == pytest.approx(130.584 / 316)
    # 100M = 100 MiB and 114944K KiB, in decimal GB (x 2**30 / 10**9 per GiB)
    assert first["memory_gb"] == pytest.approx(100 / 1024 * 2**30 / 10**9)
    assert first["memory_used_gb"] == pytest.approx(114944 / 1024**2 * 2**30 / 10**9)
    assert first["partition"] == "partition1" and first["line"] == 2
    assert jobs.loc["67108977", "state"] == "CANCELLED"  # "CANCELLED by 32874"
    assert jobs.loc["67108977", "hardware"] == "c5.large"
    assert jobs.loc["134217815", "memory_gb"] == pytest.approx(4 * 2**30 / 10**9)  # 4G = 4 GiB
    assert jobs.loc["134217815", "cpu_util"] == pytest.approx((4 * 60 + 59.796) / 480)


def test_sacct_with_header_any_field_order():
    result = read(FIXTURES / "sacct_formats.txt", "sacct")
    jobs = by_id(result)
    assert sorted(jobs.index) == ["1001", "1002", "1003", "1004", "1005", "1008"]
    # Rejected: PENDING job (line 13), a step with no job (14), a line with 2 fields (15).
    assert result.rejects["line"].tolist() == [13, 14, 15]
    assert result.rejects["reason"].tolist() == [
        "job never started",
        "job step without its job line",
        "malformed line: 2 fields, expected 19",
    ]
    assert result.records == 9

    gpu_job = jobs.loc["1001"]
    assert gpu_job["start"] == pd.Timestamp("2023-05-01T10:00:00Z")
    assert gpu_job["cpus"] == 8 and gpu_job["gpus"] == 4
    assert gpu_job["memory_gb"] == pytest.approx(32 * 2**30 / 10**9)  # 4Gc x 8 CPUs = 32 GiB
    assert gpu_job["memory_used_gb"] == pytest.approx(30 * 2**30 / 10**9)  # largest step MaxRSS (30G on .0)
    assert gpu_job["measured_kwh"] == pytest.approx(7_200_000 / 3.6e6)  # the job line, not the steps' sum
    assert gpu_job["cpu_util"] == pytest.approx(12 * 3600 / ((86400 + 2 * 3600 + 3 * 60 + 4) * 8))
    assert (gpu_job["user"], gpu_job["account"], gpu_job["project"], gpu_job["partition"]) == (
        "alice",
        "physics",
        "projA",
        "gpu",
    )

    timeout = jobs.loc["1002"]
    assert timeout["state"] == "TIMEOUT"
    assert timeout["memory_gb"] == pytest.approx(32 * 2**30 / 10**9)  # 16Gn x 2 nodes = 32 GiB
    assert timeout["cpu_util"] == pytest.approx(2 * 3600 / (3600 * 4))  # job TotalCPU 0: the step's 02:00:00
    assert math.isnan(timeout["measured_kwh"])

    oom = jobs.loc["1003"]
    assert oom["state"] == "OUT_OF_MEMORY" and oom["gpus"] == 2 and oom["gpu_model"] == "a100"
    assert math.isnan(oom["memory_gb"])  # 0n: all of the node's memory
    assert oom["measured_kwh"] == pytest.approx(720_000 / 3.6e6)  # largest step, never the sum
    assert oom["cpu_util"] == pytest.approx(1500.5 / (1800 * 2))

    assert jobs.loc["1004", "state"] == "CANCELLED" and jobs.loc["1004", "memory_gb"] == pytest.approx(
        64 * 2**30 / 10**9
    )
    running = jobs.loc["1005"]
    assert running["state"] == "RUNNING" and running["end"] == pd.Timestamp("2023-07-01T02:00:00Z")
    assert running["memory_gb"] == pytest.approx(2000 / 1024 * 2 * 2**30 / 10**9)
    failed = jobs.loc["1008"]
    assert failed["end"] - failed["start"] == pd.Timedelta(seconds=30) and failed["hardware"] == "c5.large"


def test_sacct_fields_given_for_headerless_output(tmp_path):
    log = tmp_path / "jobs.txt"
    log.write_text(
        "42|2024-01-01T00:00:00|2024-01-01T01:00:00|4|00:30:00|COMPLETED\n"
        "42.batch|2024-01-01T00:00:00|2024-01-01T01:00:00|4|00:30:00|COMPLETED\n"
    )
    result = read(log, "sacct", fields=["JobID", "Start", "End", "NCPUS", "TotalCPU", "State"])
    assert len(result.jobs) == 1
    assert result.jobs.loc[0, "cpu_util"] == pytest.approx(1800 / (3600 * 4))


def test_sacct_crlf_and_invalid_utf8(tmp_path):
    log = tmp_path / "jobs.txt"
    log.write_bytes(
        b"JobID|User|Start|End|NCPUS|State\r\n7|ren\xe9|2024-01-01T00:00:00|2024-01-01T01:00:00|2|COMPLETED\r\n"
    )
    result = read(log, "sacct")
    assert len(result.jobs) == 1 and result.jobs.loc[0, "user"] == "ren\ufffd"
    assert result.jobs.loc[0, "end"] == pd.Timestamp("2024-01-01T01:00:00Z")


def sacct_lines(count: int) -> list[str]:
    return [
        f"COMPLETED|{700000 + i}|1|1G|1|m5.large|2022-03-01T00:00:00|2022-03-01T00:00:00|2022-03-01T00:00:00|"
        f"00:10:00|00:00:00|2022-03-01T00:10:00|0:0|0:0|1|1||||||00:10:00|00:01.000|00:01.000|00:02.000"
        for i in range(count)
    ]


def test_malformed_line_in_the_middle_is_rejected_with_its_number(tmp_path):
    lines = sacct_lines(20_000)
    lines[10_000] = "COMPLETED|oops|this line was cut"
    log = tmp_path / "big.txt"
    log.write_text("\n".join(lines) + "\n")
    result = read(log, "sacct")
    assert len(result.jobs) == 19_999
    assert result.rejects["line"].tolist() == [10_001]
    assert result.rejects["reason"].iloc[0].startswith("malformed line")
    assert result.records == 20_000


def test_generic_csv(tmp_path):
    log = tmp_path / "jobs.csv"
    log.write_text(
        "job_id,start,end,region,instance_type,cpus,cpu_time_s,memory_gb,state,user\n"
        "a,2022-02-18T16:30:00Z,2022-02-18T18:30:00Z,aws:us-west-1,m5.large,2,3600,8,COMPLETED,ann\n"
        "b,not a time,2022-02-18T18:30:00Z,FR,,1,,,FAILED,bo\n"
        "c,2022-02-18T16:30:00Z,,FR,,1,,,FAILED\n"
        "d,2022-02-18T16:30:00Z,2022-02-18T16:40:00Z,FR,,1,,,COMPLETED,cy\n"
    )
    result = read(log)
    jobs = by_id(result)
    assert list(jobs.index) == ["a", "d"]
    assert jobs.loc["a", "hardware"] == "m5.large"
    assert jobs.loc["a", "cpu_util"] == pytest.approx(3600 / (7200 * 2))
    assert result.rejects["line"].tolist() == [3, 4]
    assert result.rejects["reason"].tolist()[0] == "malformed record: cannot read start/end"
    assert result.rejects["reason"].tolist()[1] == "malformed line: 9 fields, expected 10"
    assert result.records == 4


def test_generic_jsonl_and_parquet(tmp_path):
    records = [
        {
            "job_id": "x",
            "start": "2023-01-01T00:00:00Z",
            "duration_s": 600,
            "region": "FR",
            "cpus": 4,
            "cpu_util": 0.25,
            "gpus": 1,
            "gpu_util": 0.9,
            "measured_kwh": None,
            "project": "p",
        },
        {"job_id": "y", "start": "2023-01-01T00:00:00Z", "end": "2023-01-01T01:00:00Z", "measured_kwh": 1.5},
    ]
    log = tmp_path / "jobs.jsonl"
    log.write_text(json.dumps(records[0]) + "\n{not json\n\n" + json.dumps(records[1]) + "\n")
    result = read(log)
    jobs = by_id(result)
    assert jobs.loc["x", "end"] == pd.Timestamp("2023-01-01T00:10:00Z")
    assert jobs.loc["x", "gpu_util"] == 0.9 and jobs.loc["y", "measured_kwh"] == 1.5
    assert result.rejects["line"].tolist() == [2] and result.records == 3
    frame = pd.DataFrame(records)
    frame["end"] = frame["end"].fillna("2023-01-01T00:10:00Z")
    frame.to_parquet(tmp_path / "jobs.parquet")
    parquet = read(tmp_path / "jobs.parquet")
    assert parquet.jobs["line"].tolist() == [1, 2] and parquet.jobs.loc[0, "cpus"] == 4


def test_tracker_run_records(tmp_path):
    # The keys of `carbon estimate --format json`, plus start/end/region.
    run = {
        "energy_kwh": 2.27,
        "pue": 1.135,
        "breakdown": {"cpu_kwh": 1.5, "gpu_kwh": 0.0, "ram_kwh": 0.5, "other_kwh": 0.0},
        "location": {"region": "aws:us-east-1"},
        "hardware": {"instance_type": "m5.large", "vcpus": 2},
        "duration_s": 3600,
        "start": "2022-02-18T10:00:00Z",
        "end": "2022-02-18T11:00:00Z",
        "run_id": "r1",
    }
    log = tmp_path / "runs.jsonl"
    log.write_text(json.dumps(run) + "\n")
    jobs = by_id(read(log, "runs"))
    assert jobs.loc["r1", "measured_kwh"] == pytest.approx(2.0)  # IT energy: the breakdown's sum
    assert jobs.loc["r1", "region"] == "aws:us-east-1" and jobs.loc["r1", "hardware"] == "m5.large"


def test_tracker_run_log_intervals(tmp_path):
    # Two intervals in the carbon.sinks.jsonl format ("carbon.run/1"), then a line torn by a crash.
    base = {
        "schema": "carbon.run/1",
        "run_id": "r2",
        "region": "FR",
        "project": "p",
        "experiment": "e",
        "task": None,
        "location": {"provider": None, "region": "FR", "zone": "FR", "country": "FR"},
        "hardware": {"vcpus": 4},
        "pue": 1.0,
    }
    first = {
        **base,
        "seq": 0,
        "start": "2022-02-18T10:00:00.000000Z",
        "end": "2022-02-18T11:00:00.000000Z",
        "duration_s": 3600,
        "breakdown": {"cpu_kwh": 0.03, "gpu_kwh": 0.0, "ram_kwh": 0.01, "other_kwh": 0.0},
    }
    second = {
        **first,
        "seq": 1,
        "start": "2022-02-18T11:00:00.000000Z",
        "end": "2022-02-18T11:30:00.000000Z",
        "breakdown": {"cpu_kwh": 0.02, "gpu_kwh": 0.0, "ram_kwh": 0.0, "other_kwh": 0.0},
    }
    log = tmp_path / "r2.jsonl"
    log.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n" + '{"schema": "carbon.ru')
    result = read(log, "runs")
    jobs = by_id(result)
    assert list(jobs.index) == ["r2#0", "r2#1"]
    assert jobs.loc["r2#0", "measured_kwh"] == pytest.approx(0.04)
    assert jobs.loc["r2#1", "measured_kwh"] == pytest.approx(0.02)
    assert jobs.loc["r2#0", "project"] == "p" and jobs.loc["r2#0", "account"] == "e"
    assert result.rejects["line"].tolist() == [3] and result.records == 3


def test_hardware_map(tmp_path):
    path = tmp_path / "hw.toml"
    path.write_text(
        '[partitions.cpu]\ncpu_model = "Intel Xeon Gold 6248"\ncpus = 40\n[features."bigmem"]\ninstance_type = "r5.4xlarge"\n'
    )
    mapping = load_map(path)
    assert mapping.partitions["cpu"].cpus == 40.0 and mapping.features["bigmem"].instance_type == "r5.4xlarge"
    path.write_text("[partitions.cpu]\ncores = 4\n")
    with pytest.raises(ValueError, match="cores"):
        load_map(path)


@pytest.mark.parametrize("name", ["sacct-output-v1.txt", "sacct-output-v2.txt"])
def test_full_sacct_fixture(name, tmp_path):
    result = read(unpacked(f"slurm-sacct/{name}", tmp_path), "sacct")
    # PROVENANCE.md: 483 jobs + 395 steps; 261 OUT_OF_MEMORY, 129 FAILED, 91 CANCELLED by ..., 2 COMPLETED.
    assert len(result.jobs) == 483 and len(result.rejects) == 0
    assert result.jobs["state"].value_counts().to_dict() == {
        "OUT_OF_MEMORY": 261,
        "FAILED": 129,
        "CANCELLED": 91,
        "COMPLETED": 2,
    }
    assert result.jobs["hardware"].value_counts().to_dict() == {"m5.large": 171, "c5.large": 140}
