"""The named steps of read_sacct, each on its own (expected values worked out from the lines shown)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from carbon.batch.checks import Verdicts
from carbon.batch.readers.sacct import (
    _fold_steps,
    _records,
    _resources,
    _times,
    _when,
    parse_gres_gpus,
    parse_tres_memory_gb,
)
from carbon.batch.readers.sacct_lines import DEFAULT_FIELDS, _mend_free_text, _names, load


def frame(**columns):
    """Fields as the reader holds them: Arrow-backed text."""
    return pd.DataFrame({k: pd.arrays.ArrowExtensionArray(pa.array(v, type=pa.string())) for k, v in columns.items()})


def test_names_from_fields_header_or_default():
    assert _names(["jobidraw", "state"], None) == (["JobID", "State"], 2, True)
    assert _names(["JobIDRaw", "JobID"], None)[0] == ["JobIDRaw", "JobID"]  # JobID itself wins
    assert _names(["COMPLETED", "1"], None) == (list(DEFAULT_FIELDS), 25, False)
    assert _names(["x"], ["JobID", " ncpus "]) == (["JobID", "NCPUS"], 2, False)


def test_a_pipe_is_mended_only_when_one_free_text_field_can_hold_it():
    lines = pa.array(["1|a|b|COMPLETED", "2|c|RUNNING"])
    mended, rows = _mend_free_text(lines, np.array([0]), ["JobID", "JobName", "State"])
    assert mended.to_pylist() == ["1|a\u00a6b|COMPLETED", "2|c|RUNNING"] and rows.tolist() == [0]
    untouched, rows = _mend_free_text(lines, np.array([0]), ["JobID", "JobName", "Constraints", "State"])
    assert untouched.to_pylist() == lines.to_pylist() and rows.tolist() == []


def test_times_in_every_layout_read():
    values = pd.Series(
        ["2024-05-01T10:00:00", "1714557600", "2024-05-01 10:00:00", "2024/05/01-10:00:00", "Unknown", ""]
    )
    got = pd.Series(_times(values)).dt.tz_localize("UTC")  # naive UTC datetime64
    expected = pd.Timestamp("2024-05-01T10:00:00Z")
    assert list(got[:4]) == [expected] * 4 and got[4:].isna().all()


def test_gres_and_tres_parsers():
    count, model = parse_gres_gpus(["gpu:2", "gpu:tesla:4(IDX:0-3)", "craynetwork:1,gpu:v100:1", "", "mps:100"])
    assert list(count[:3]) == [2, 4, 1] and math.isnan(count[3]) and math.isnan(count[4])
    assert list(model) == [None, "tesla", "v100", None, None]
    memory = parse_tres_memory_gb(["cpu=4,mem=64G,node=1", "billing=1,mem=512M", "cpu=1", ""])
    # binary units (64G, 512M) in carbon's decimal GB
    assert list(memory[:2]) == pytest.approx([64 * 2**30 / 1e9, 0.5 * 2**30 / 1e9])
    assert math.isnan(memory[2]) and math.isnan(memory[3])


def test_records_split_jobs_from_steps_and_fold_them(tmp_path):
    log_file = tmp_path / "log.txt"
    log_file.write_text(
        "JobID|State|Start|End|Elapsed|NCPUS|MaxRSS|TotalCPU\n"
        "10|COMPLETED|2024-01-01T00:00:00|2024-01-01T01:00:00|01:00:00|2||\n"
        "10.batch|COMPLETED|||||3G|00:30:00\n"
        "10.0|COMPLETED|||||5G|00:15:00\n"
        "99.batch|COMPLETED|||||1G|00:01:00\n"
    )
    records = _records(load(log_file, None, None))
    assert records.jobs["JobID"].to_pylist() == ["10"] and list(records.steps["_job"]) == [0, 0]
    assert records.rejects[0].line.tolist() == [5]  # the step whose job is not in the log
    folded = _fold_steps(records)
    assert folded["rss_gb"].tolist() == pytest.approx([5 * 2**30 / 1e9]) and folded["cpu_s"].tolist() == [45 * 60]


def test_when_rejects_what_has_no_time_and_flags_submit():
    jobs = frame(Submit=["2024-01-01T00:00:00", "2024-01-01T00:00:00"], Elapsed=["00:10:00", ""])
    verdicts = Verdicts(2)
    when = _when(jobs, verdicts)
    assert when.from_submit and pd.Timestamp(when.end[0], tz="UTC") == pd.Timestamp("2024-01-01T00:10:00Z")
    assert verdicts.rejected.tolist() == [False, True]  # no End and no Elapsed
    started = frame(Start=["Unknown", "garbage"], End=["", ""], Elapsed=["00:00:00", "00:01:00"])
    verdicts = Verdicts(2)
    _when(started, verdicts)
    rejects = verdicts.frame([1, 2], lambda rows: ["" for _ in rows])
    assert rejects["reason"].tolist() == ["job never started", "malformed line: cannot read Start"]


def test_resources_fall_back_field_by_field():
    jobs = frame(
        NCPUS=["", "4", "2"],
        AllocCPUS=["8", "", "2"],
        ReqMem=["2Gc", "0n", "lots"],
        AllocTRES=["cpu=8,gres/gpu=1", "cpu=4,mem=100G", ""],
        AllocGRES=["gpu:3", "gpu:a40:2", ""],
    )
    verdicts = Verdicts(3)
    found = _resources(jobs, verdicts)
    assert found.cpus.tolist() == [8, 4, 2]
    # 2G per CPU x 8; 0n: AllocTRES mem=100G (GiB, in decimal GB)
    assert found.memory_gb[:2].tolist() == pytest.approx([16 * 2**30 / 1e9, 100 * 2**30 / 1e9])
    assert found.gpus[:2].tolist() == [1, 2] and found.gpu_model[1] == "a40"  # AllocTRES first, then AllocGRES
    assert verdicts.rejected.tolist() == [False, False, True]  # ReqMem "lots"
    assert verdicts.frame([1, 2, 3], lambda rows: ["" for _ in rows])["reason"].tolist() == [
        "ReqMem 'lots' is not a Slurm size"
    ]


@pytest.mark.parametrize("count", ["-1", "x", "1e400"])
def test_a_count_that_is_not_a_count_is_a_reject(count):
    verdicts = Verdicts(1)
    _resources(frame(NCPUS=[count], ReqMem=["1G"]), verdicts)
    assert verdicts.rejected.tolist() == [True]
