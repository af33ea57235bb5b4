"""A Slurm sacct log priced into a Parquet file as columns (carbon.batch.readers.sacct.
read_sacct_columns, carbon.batch.run.estimate_sacct_columns): the same file, totals and counts as
the in-memory run through pandas, without importing pandas; logs it cannot take (a record to reject,
a log that is not regular, a job the engine rejects) go the pandas way and leave no partial file."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch_support import BUNDLE, batch_in_fresh_process, bundle  # noqa: F401  (the fixture, used through pytestmark)
from carbon.batch import summary
from carbon.batch.engine import Settings
from carbon.batch.output import write_table
from carbon.batch.readers.sacct import _fold_steps, _Records, parse_duration_s, read_sacct_columns
from carbon.batch.run import estimate_logs
from carbon.cli import main

pytestmark = pytest.mark.usefixtures("bundle")
FIXTURES = Path(__file__).parent / "fixtures"
LAYOUT = (
    "JobID|JobName|User|Account|WCKey|Partition|State|Start|End|Elapsed|NCPUS|AllocNodes|ReqMem|AllocTRES|"
    "AllocGRES|TotalCPU|MaxRSS|ConsumedEnergyRaw|Constraints"
)


def clean_log(
    seed: int, jobs: int = 400, text_ids: bool = False, steps_later: bool = False, running: bool = True
) -> str:
    """A regular log with nothing to reject and much to read: CPUs and memory per CPU, per node, in
    AllocTRES or all of the node; GPUs from AllocTRES and AllocGRES; states with a reason; running
    jobs (no End: start + elapsed); CPU time, peak memory and energy on the job line or its steps
    (one to three, out of job order with `steps_later`); array ids ("12_3": `text_ids`). Without
    `running`, every job has its End."""
    rng = random.Random(seed)
    names = LAYOUT.split("|")
    job_lines, step_lines = [], []
    for number in range(1, jobs + 1):
        job = f"{number}_{rng.randint(0, 3)}" if text_ids else str(number)
        start = pd.Timestamp("2021-06-01T00:00:00") + pd.Timedelta(seconds=rng.randint(0, 400 * 86400))
        elapsed_s = rng.randint(0, 3 * 86400)
        state = rng.choice(
            ["COMPLETED", "FAILED", "CANCELLED by 123", "TIMEOUT", "OUT_OF_MEMORY", "RUNNING"][: 6 if running else 5]
        )
        fields = {
            "JobID": job,
            "JobName": rng.choice(["train", "a b", ""]),
            "User": rng.choice(["ada", "grace", ""]),
            "Account": rng.choice(["physics", ""]),
            "WCKey": "",
            "Partition": rng.choice(["cpu", "gpu", ""]),
            "State": state,
            "Start": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "End": "Unknown"
            if state == "RUNNING"
            else (start + pd.Timedelta(seconds=elapsed_s)).strftime("%Y-%m-%dT%H:%M:%S"),
            "Elapsed": f"{elapsed_s // 86400}-{elapsed_s % 86400 // 3600:02d}:{elapsed_s % 3600 // 60:02d}:"
            f"{elapsed_s % 60:02d}",
            "NCPUS": str(rng.choice([1, 2, 4, 8])),
            "AllocNodes": str(rng.choice([1, 2])),
            "ReqMem": rng.choice(["4G", "100M", "2Gc", "1Gn", "0n", "114944K", ""]),
            "AllocTRES": rng.choice(["", "cpu=2,mem=4G", "billing=8,cpu=8,gres/gpu=1,mem=32G,node=1"]),
            "AllocGRES": rng.choice(["", "", "gpu:2"]),
            "TotalCPU": rng.choice(
                ["", "00:00:00", f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}"]
            ),
            "MaxRSS": "",
            "ConsumedEnergyRaw": rng.choice(["", "", "7200000"]),
            "Constraints": rng.choice(["m5.large", "c5.large", ""]),
        }
        job_lines.append([fields[name] for name in names])
        steps = []
        for suffix in rng.sample([".batch", ".extern", ".0"], rng.randint(0, 3)):
            step = dict.fromkeys(names, "")
            step.update(
                JobID=f"{job}{suffix}",
                State=state,
                TotalCPU=rng.choice(
                    ["", f"{rng.randint(0, 99):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}"]
                ),
                MaxRSS=rng.choice(["", "114944K", "2G", "0.07M"]),
                ConsumedEnergyRaw=rng.choice(["", "3600000"]),
            )
            steps.append([step[name] for name in names])
        (step_lines if steps_later else job_lines).extend(steps)
    rows = [names, *job_lines, *step_lines]
    return "\n".join("|".join(row) for row in rows) + "\n"


def written_from_columns(path) -> bool:
    """The columnar run notes only the job ids' pandas dtype; a file written from pandas notes every column's."""
    note = json.loads(pq.read_metadata(path).metadata[b"pandas"])
    return [column["name"] for column in note["columns"]] == ["job_id"]


def run_both(log: Path, tmp_path: Path, capsys, extra: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """`carbon batch` on the log (--out, --rejects) and the in-memory run through pandas, as `carbon
    batch` ran every sacct log before: the two results files, after checking that the summaries and
    the rejects files are the same."""
    out, rejects = tmp_path / "columns.parquet", tmp_path / "rejects.csv"
    pandas_out, pandas_rejects = tmp_path / "pandas.parquet", tmp_path / "pandas-rejects.csv"
    assert main(["batch", str(log), "--region", "FR", "--out", str(out), "--rejects", str(rejects), *extra]) == 0
    printed = capsys.readouterr().out
    fields = extra[1].split(",") if extra[:1] == ("--fields",) else None
    result = estimate_logs([log], settings=Settings(region="FR"), fields=fields)
    write_table(result.results, pandas_out)
    write_table(result.rejects, pandas_rejects, quote_text=True)
    expected = f"read {result.read}, estimated {len(result.results)}, rejected {len(result.rejects)}\n"
    assert printed.strip() == (expected + summary.text(summary.totals(result.results))).strip()
    assert rejects.read_bytes() == pandas_rejects.read_bytes()
    return out, pandas_out


def assert_same_file(columns: Path, pandas_out: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(columns), pd.read_parquet(pandas_out), check_exact=True)
    back, reference = pq.read_table(columns), pq.read_table(pandas_out)
    assert back.column_names == reference.column_names
    for name in back.column_names:  # string and large_string alike: Parquet's STRING either way
        assert back[name].equals(reference[name].cast(back[name].type)), name


@pytest.mark.parametrize(
    "make",
    [
        lambda: clean_log(1),
        lambda: clean_log(2, text_ids=True),
        lambda: clean_log(3, steps_later=True),
        lambda: gzip.decompress((FIXTURES / "raw" / "slurm-sacct" / "sacct-output-v1.txt.gz").read_bytes()).decode(),
        lambda: (FIXTURES / "sacct_jobidraw_epoch.txt").read_text(),
        lambda: (FIXTURES / "sacct_submit_elapsed.txt").read_text(),
    ],
    ids=["generated", "array-ids", "steps-later", "hpc-cost-simulator-v1", "jobidraw-epoch", "submit-elapsed"],
)
@pytest.mark.parametrize("part_rows", [150, 500_000], ids=["in-parts", "at-once"])
def test_a_sacct_log_priced_as_columns_gives_the_pandas_runs_file(tmp_path, capsys, monkeypatch, make, part_rows):
    monkeypatch.setattr("carbon.batch.run.COLUMN_CHUNK_ROWS", part_rows)
    log = tmp_path / "jobs.txt"
    log.write_text(make())
    columns, pandas_out = run_both(log, tmp_path, capsys)
    assert written_from_columns(columns)
    assert pq.read_metadata(columns).num_row_groups == -(-len(pd.read_parquet(columns)) // part_rows)
    assert_same_file(columns, pandas_out)


def test_a_log_without_header_with_fields_given(tmp_path, capsys):
    text = clean_log(4, jobs=50)
    log = tmp_path / "jobs.txt"
    log.write_text(text.split("\n", 1)[1])
    columns, pandas_out = run_both(log, tmp_path, capsys, ("--fields", LAYOUT.replace("|", ",")))
    assert written_from_columns(columns)
    assert_same_file(columns, pandas_out)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda text: text.replace("|c5.large\n", "|c5.large\n999.batch||||||||||||||||||\n", 1),  # an orphan step
        lambda text: text.replace("\n", "\n\n", 3),  # blank lines: not regular, read line by line
        lambda text: text.replace("|2|", "|x|", 1),  # a count that is not one: the reader's reject
        lambda text: text.replace("\n3|", "\n2|", 1),  # a duplicate job id
        lambda text: text.replace("2021-", "2031-", 1),  # a start after its end: the engine's reject
    ],
    ids=["orphan-step", "blank-lines", "bad-count", "duplicate", "end-before-start"],
)
def test_logs_the_columns_cannot_take_go_the_pandas_way(tmp_path, capsys, spoil):
    log = tmp_path / "jobs.txt"
    text = clean_log(5, jobs=60)
    log.write_text(spoil(text))
    assert spoil(text) != text
    columns, pandas_out = run_both(log, tmp_path, capsys)
    assert not written_from_columns(columns)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "columns.parquet",
        "jobs.txt",
        "pandas-rejects.csv",
        "pandas.parquet",
        "rejects.csv",
    ]  # no partial file of the columnar run
    assert_same_file(columns, pandas_out)


def test_the_columnar_reader_refuses_what_read_sacct_must_report(tmp_path):
    log = tmp_path / "jobs.txt"
    log.write_text(clean_log(6, jobs=20).replace("|4|", "|-4|", 1))
    assert read_sacct_columns(log) is None
    log.write_text(clean_log(6, jobs=20))
    read = read_sacct_columns(log)
    assert read is not None and read.records == 20


def test_a_sacct_run_never_imports_pandas(tmp_path):
    log, out = tmp_path / "jobs.txt", tmp_path / "out.parquet"
    # Past 4096 rows: texts parsed once per distinct text. Every End given: a running job's end is
    # start + elapsed in pandas' own rounding of seconds to nanoseconds, which imports it.
    log.write_text(clean_log(7, jobs=5_000, running=False))
    printed, imported = batch_in_fresh_process(str(log), "--region", "FR", "--out", str(out), "-q")
    assert printed.split()[-1] == "0" and not imported
    assert len(pd.read_parquet(out)) == 5_000 and written_from_columns(out)


@pytest.mark.parametrize("order", ["sorted", "runs", "shuffled"])
@pytest.mark.parametrize("gaps", [False, True], ids=["no-gap", "gaps"])
def test_steps_cpu_time_sums_round_as_pandas_group_sum(order, gaps):
    """The steps' CPU time per job is pandas' group sum, with its rounding: reduceat where each
    job's steps come together and none is missing, else compensated (Kahan) summation. Values of
    every magnitude, so that the two orders of adding differ in the last bits."""
    rng = np.random.default_rng(13)
    jobs = 300
    job = np.repeat(rng.permutation(jobs) if order == "runs" else np.arange(jobs), rng.integers(0, 9, jobs))
    if order == "shuffled":
        rng.shuffle(job)
    seconds = rng.random(len(job)) * 10.0 ** rng.integers(-3, 9, len(job))
    texts = [f"{int(s // 60)}:{s % 60:09.6f}" for s in seconds]
    if gaps:
        texts = [("" if rng.random() < 0.1 else t) for t in texts]
    steps = pd.DataFrame({"_job": job, "TotalCPU": pd.arrays.ArrowExtensionArray(pa.array(texts, pa.string()))})
    want = pd.Series(parse_duration_s(texts)).groupby(job, sort=False).sum()
    want = want.where(want > 0)
    expected = np.full(jobs, np.nan)
    expected[want.index.to_numpy()] = want.to_numpy()
    got = _fold_steps(_Records(None, steps, np.arange(jobs), []))["cpu_s"]
    if int(pd.__version__.split(".")[0]) < 3:  # pandas 2 summed every group with compensation: the last bits may differ
        assert np.allclose(got, expected, rtol=1e-12, equal_nan=True)
    else:
        assert np.array_equal(got, expected, equal_nan=True)
