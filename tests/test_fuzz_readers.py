"""Every reader, fed random lines: no exception, and every record accounted for
(read N = estimated M + rejected K), each reject on a line of the input.

Lines mix well-formed records, near misses (a field wrong, missing or extra) and noise, so that
both the readers' fast paths and their line-by-line paths run. The number of examples is bounded
(CARBON_FUZZ_EXAMPLES, default 25 per reader) so that the suite stays quick in CI.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon.batch.engine import Settings
from carbon.batch.run import estimate_logs

EXAMPLES = int(os.environ.get("CARBON_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)

noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
numbers = st.one_of(
    st.integers(-5, 5000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "-1", "1e308", "inf", "nan", "abc", "4G", "2Gc", "0n", "1e308G"]),
)
times = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-01-01").to_pydatetime()
    ).map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")),
    st.integers(0, 2_000_000_000).map(str),
    st.sampled_from(["", "Unknown", "None", "2024-13-45T99:00:00", "yesterday"]),
)
durations = st.one_of(st.sampled_from(["00:10:00", "1-02:03:04", "01:07.402", "UNLIMITED", "", "-1", "99:99"]), noise)
states = st.sampled_from(
    ["COMPLETED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "CANCELLED by 5", "RUNNING", ""]
)
job_ids = st.one_of(st.integers(1, 30).map(str), st.integers(1, 30).map(lambda i: f"{i}.batch"), st.just(""), noise)

SACCT_HEADER = [
    "JobID",
    "JobName",
    "State",
    "Start",
    "End",
    "Elapsed",
    "NCPUS",
    "ReqMem",
    "AllocTRES",
    "TotalCPU",
    "MaxRSS",
]


def _write(lines: list[str], suffix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "w", encoding="utf-8", errors="surrogatepass", newline="") as file:
        file.write("\n".join(lines) + "\n")
    return Path(name)


def _accounted(path: Path, format_name: str) -> None:
    try:
        result = estimate_logs([path], format_name=format_name, settings=Settings(region="FR"))
    finally:
        path.unlink()
    assert result.read == len(result.results) + len(result.rejects)
    lines = result.rejects["line"].tolist()
    assert all(isinstance(line, int) and line >= 1 for line in lines)
    assert (result.results["co2e_kg_low"] >= 0).all() and (
        result.results["co2e_kg_low"] <= result.results["co2e_kg_high"]
    ).all()


sacct_record = st.tuples(job_ids, noise, states, times, times, durations, numbers, numbers, noise, durations, numbers)
sacct_line = st.one_of(
    sacct_record.map(lambda fields: "|".join(fields)), noise, st.lists(noise, max_size=14).map("|".join)
)


@FUZZ
@given(st.booleans(), st.lists(sacct_line, max_size=25))
def test_sacct_reader_accounts_for_every_record(header, lines):
    _accounted(_write((["|".join(SACCT_HEADER)] if header else []) + lines, ".txt"), "sacct")


GENERIC_HEADER = [
    "job_id",
    "start",
    "end",
    "region",
    "cpus",
    "cpu_util",
    "gpus",
    "gpu_util",
    "memory_gb",
    "measured_kwh",
]
generic_record = st.tuples(job_ids, times, times, st.sampled_from(["FR", "DE", "", "Atlantis"]), *[numbers] * 6)


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


@FUZZ
@given(st.lists(st.one_of(generic_record.map(lambda f: ",".join(map(_csv_field, f))), noise), max_size=25))
def test_csv_reader_accounts_for_every_record(lines):
    _accounted(_write([",".join(GENERIC_HEADER), *lines], ".csv"), "csv")


def _json_value(record: tuple) -> dict:
    return dict(zip(GENERIC_HEADER, record))


json_line = st.one_of(
    generic_record.map(lambda r: json.dumps(_json_value(r))),
    st.dictionaries(
        st.sampled_from(GENERIC_HEADER),
        st.one_of(st.none(), st.floats(), st.integers(), noise, st.lists(st.integers(), max_size=2)),
        max_size=6,
    ).map(json.dumps),
    noise,
)


@FUZZ
@given(st.lists(json_line, max_size=25))
def test_jsonl_reader_accounts_for_every_record(lines):
    _accounted(_write(lines, ".jsonl"), "jsonl")


run_record = st.fixed_dictionaries(
    {
        "run_id": st.sampled_from(["r1", "r2"]),
        "seq": st.one_of(st.integers(0, 5), st.none()),
        "start": times,
        "end": times,
        "region": st.sampled_from(["FR", "", "Atlantis"]),
        "breakdown": st.one_of(
            st.none(), st.dictionaries(st.sampled_from(["cpu_kwh", "ram_kwh"]), st.one_of(st.floats(), noise))
        ),
        "energy_kwh": st.one_of(st.none(), st.floats(), noise),
        "pue": st.one_of(st.none(), st.floats(), st.integers(-1, 3)),
        "hardware": st.one_of(st.none(), noise, st.fixed_dictionaries({"vcpus": st.one_of(st.floats(), noise)})),
    }
)


@FUZZ
@given(st.lists(st.one_of(run_record.map(json.dumps), noise), max_size=25))
def test_run_log_reader_accounts_for_every_record(lines):
    _accounted(_write(lines, ".jsonl"), "runs")


@FUZZ
@given(st.lists(generic_record, min_size=1, max_size=25))
def test_parquet_reader_accounts_for_every_record(records):
    frame = pd.DataFrame(records, columns=GENERIC_HEADER)
    frame["cpus"] = pd.to_numeric(frame["cpus"], errors="coerce")  # a typed column, as Parquet logs have
    handle, name = tempfile.mkstemp(suffix=".parquet")
    os.close(handle)
    frame.to_parquet(name)
    _accounted(Path(name), "parquet")
