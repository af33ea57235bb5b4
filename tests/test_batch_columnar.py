"""A Parquet log priced into a Parquet file as columns (carbon.batch.readers.columnar,
carbon.batch.run.estimate_parquet_columns): the same file, totals and counts as the in-memory run
through pandas, without importing pandas; logs it cannot take go the pandas way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batch_support import BUNDLE, batch_in_fresh_process, bundle  # noqa: F401  (the fixture, used through pytestmark)
from carbon.batch import summary
from carbon.batch.columns import Coded, Joined, arrow_values, numpy_values
from carbon.batch.engine import Settings, civil_year_month
from carbon.batch.output import ParquetRowGroups, write_table
from carbon.batch.run import estimate_logs
from carbon.cli import main

pytestmark = pytest.mark.usefixtures("bundle")


def mixed_jobs(count: int, seed: int = 3) -> pd.DataFrame:
    """Jobs of every kind the engine tells apart, none of them one it rejects: regions with and
    without an hourly series (aws:us-west-1 on 2022-02-18), none (--region), hardware named or
    not, unknown utilisation and memory, measured energy, GPUs, running jobs, whole-node memory."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-06-01T00:00Z") + pd.to_timedelta(rng.integers(0, 300 * 86400, count), unit="s")
    start = start.where(
        rng.random(count) > 0.3,
        pd.Timestamp("2022-02-18T00:00Z") + pd.to_timedelta(rng.integers(0, 80000, count), unit="s"),
    )
    hardware = rng.choice(["m5.large", "c5.large", "p3.2xlarge", None], count)
    return pd.DataFrame(
        {
            "job_id": [f"{i}_x" if i % 7 else str(i) for i in range(count)],
            "start": start.astype("datetime64[us, UTC]"),
            "end": (start + pd.to_timedelta(rng.integers(0, 20000, count), unit="s")).astype("datetime64[us, UTC]"),
            "start_from_submit": rng.random(count) > 0.9,
            "region": rng.choice(["aws:us-east-1", "aws:us-west-1", "FR", "US", None], count),
            "hardware": hardware,
            "partition": rng.choice(["cpu", "gpu", None], count),
            "cpus": np.where(hardware == None, rng.choice([1.0, 4.0], count), rng.choice([1.0, 2.0, np.nan], count)),  # noqa: E711
            "cpu_util": np.where(rng.random(count) > 0.2, rng.random(count), np.nan),
            "memory_gb": rng.choice([1.0, 4.0, np.nan], count),
            "memory_whole_node": rng.random(count) > 0.95,
            "memory_used_gb": np.where(rng.random(count) > 0.5, rng.random(count), np.nan),
            "gpus": rng.choice([np.nan, 0.0, 1.0], count),
            "gpu_model": rng.choice([None, "A100"], count),
            "measured_kwh": np.where(rng.random(count) > 0.9, rng.random(count), np.nan),
            "state": rng.choice(["COMPLETED", "FAILED", "RUNNING", "TIMEOUT"], count),
            "user": rng.choice(["ada", "grace", None], count),
            "project": None,
        }
    )


def write_log(frame: pd.DataFrame, path, row_group_size: int | None = None) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)


def through_pandas(log, out, settings: Settings, rejects=None) -> str:
    """The in-memory run through pandas, as `carbon batch` ran every log before: its results file
    (and rejects file) and its summary lines."""
    result = estimate_logs([log], settings=settings)
    write_table(result.results, out)
    if rejects:
        write_table(result.rejects, rejects, quote_text=True)
    return f"read {result.read}, estimated {len(result.results)}, rejected {len(result.rejects)}\n" + summary.text(
        summary.totals(result.results)
    )


@pytest.mark.parametrize("part_rows", [700, 250_000], ids=["in-parts", "at-once"])
def test_a_parquet_log_priced_as_columns_gives_the_pandas_runs_file_and_totals(
    tmp_path, capsys, monkeypatch, part_rows
):
    monkeypatch.setattr("carbon.batch.run.COLUMN_CHUNK_ROWS", part_rows)  # 700: five row groups
    log, columns, pandas_out = tmp_path / "jobs.parquet", tmp_path / "columns.parquet", tmp_path / "pandas.parquet"
    write_log(mixed_jobs(3_000), log)
    rejects = tmp_path / "rejects.csv"
    assert main(["batch", str(log), "--region", "FR", "--out", str(columns), "--rejects", str(rejects)]) == 0
    printed = capsys.readouterr().out
    metadata = pq.read_metadata(columns)
    assert metadata.metadata is None  # written from columns: no pandas (or Arrow) schema
    assert metadata.num_row_groups == -(-3_000 // part_rows)
    expected = through_pandas(log, pandas_out, Settings(region="FR"), tmp_path / "pandas-rejects.csv")
    assert printed.strip() == expected.strip()
    assert (
        rejects.read_bytes() == (tmp_path / "pandas-rejects.csv").read_bytes() == b'"source","line","reason","text"\n'
    )
    pd.testing.assert_frame_equal(pd.read_parquet(columns), pd.read_parquet(pandas_out))
    back, reference = pq.read_table(columns), pq.read_table(pandas_out)
    assert back.column_names == reference.column_names
    for name in back.column_names:  # string and large_string alike: Parquet's STRING either way
        assert back[name].equals(reference[name].cast(back[name].type)), name
    assert pa.types.is_string(back.schema.field("region").type)  # texts, not dictionaries
    assert back.schema.field("start").type == pa.timestamp("us", tz="UTC")
    assert {"hour", "month", "year"} == set(pd.read_parquet(columns)["intensity_granularity"])  # every kind priced


def test_a_parquet_run_never_imports_pandas(tmp_path):
    log, out = tmp_path / "jobs.parquet", tmp_path / "out.parquet"
    write_log(mixed_jobs(500), log)
    printed, imported = batch_in_fresh_process(str(log), "--region", "FR", "--out", str(out), "-q")
    assert printed.split()[-1] == "0" and not imported
    assert len(pd.read_parquet(out)) == 500
    printed, imported = batch_in_fresh_process(str(log), "--region", "FR", "-q")  # no results file: the totals alone
    assert "read 500, estimated 500, rejected 0" in printed and printed.split()[-1] == "0" and not imported


def test_column_types_a_parquet_log_may_hold(tmp_path, capsys):
    """Times without a zone (UTC), in nanoseconds and in milliseconds, float32 and integer numbers
    with gaps, texts the file holds as dictionaries, a cluster column, several row groups: the
    pandas run's file."""
    frame = mixed_jobs(2_500, seed=11)
    frame["start"] = frame["start"].dt.tz_localize(None).astype("datetime64[ns]")
    frame["end"] = frame["end"].dt.tz_localize(None).astype("datetime64[ms]")
    frame["cpus"] = frame["cpus"].astype("Int64" if frame["cpus"].isna().any() else "int64")
    frame["memory_gb"] = frame["memory_gb"].astype("float32")
    frame["state"] = frame["state"].astype("category")
    frame["cluster"] = np.where(np.arange(len(frame)) % 2, "a", "b")
    log, columns, pandas_out = tmp_path / "jobs.parquet", tmp_path / "columns.parquet", tmp_path / "pandas.parquet"
    write_log(frame, log, row_group_size=1_000)
    assert main(["batch", str(log), "--region", "FR", "--out", str(columns)]) == 0
    printed = capsys.readouterr().out
    assert pq.read_metadata(columns).metadata is None  # the columnar run
    assert printed.strip() == through_pandas(log, pandas_out, Settings(region="FR")).strip()
    pd.testing.assert_frame_equal(pd.read_parquet(columns), pd.read_parquet(pandas_out))


@pytest.mark.parametrize(
    "spoil",
    [
        lambda frame: frame.assign(region=frame["region"].where(frame.index != 5, "Atlantis")),  # the engine's reject
        lambda frame: frame.assign(cpus=frame["cpus"].where(frame.index != 5, -1.0)),  # the reader's checks
        lambda frame: frame.assign(start=frame["start"].astype(str)),  # times written as text
    ],
    ids=["unknown-region", "negative-cpus", "text-times"],
)
def test_logs_the_columns_cannot_take_go_the_pandas_way(tmp_path, capsys, spoil):
    log, out, pandas_out = tmp_path / "jobs.parquet", tmp_path / "out.parquet", tmp_path / "pandas.parquet"
    write_log(spoil(mixed_jobs(200)), log)
    assert main(["batch", str(log), "--region", "FR", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert b"pandas" in pq.read_metadata(out).metadata
    assert printed.strip() == through_pandas(log, pandas_out, Settings(region="FR")).strip()


def test_coded_texts_share_a_code_per_text_and_round_trip_through_arrow():
    column = Coded.from_keys(np.array([0, 1, 2, 3, 1]), ["a", None, "a", "b"])
    assert column.texts == ["a", "b"] and column.codes.tolist() == [0, -1, 0, 1, -1]
    assert list(column) == ["a", None, "a", "b", None]
    assert column.to_arrow().cast(pa.string()).to_pylist() == ["a", None, "a", "b", None]
    back = Coded.from_arrow(pa.chunked_array([pa.array(["x", None]), pa.array(["y", "x"])]))
    assert list(back) == ["x", None, "y", "x"]
    assert list(Coded.from_arrow(pa.nulls(2))) == [None, None]


def test_numpy_and_arrow_share_buffers_with_nulls_and_offsets():
    floats = pa.array([1.5, None, 3.0, 4.0, None]).slice(1)  # an offset into the buffers
    values, valid = numpy_values(floats)
    assert valid.tolist() == [False, True, True, False] and values[1:3].tolist() == [3.0, 4.0]
    flags = pa.array([True, False, None, True, True, False, True, False, True, True]).slice(3)
    values, valid = numpy_values(flags)
    assert values.tolist() == [True, True, False, True, False, True, True] and valid is None  # no null left
    back = arrow_values(pa.float64(), np.array([1.0, np.nan, 2.0]), np.array([True, False, True]))
    assert back.to_pylist() == [1.0, None, 2.0]
    assert arrow_values(pa.bool_(), np.array([True, False, True])).to_pylist() == [True, False, True]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_year_and_month_in_integers_match_numpys_calendar(unit):
    rng = np.random.default_rng(5)
    span = 9 * 10**18 if unit == "ns" else 10**11 * {"s": 1, "ms": 10**3, "us": 10**6}[unit]  # ns: 1678..2262
    times = rng.integers(-span, span, 200_000).view(f"datetime64[{unit}]")
    times[:4] = np.array(["1969-12-31T23:59:59", "1970-01-01", "2000-02-29T12:00", "1900-03-01"], dtype=times.dtype)
    year, month = civil_year_month(times)
    assert (year == times.astype("datetime64[Y]").astype(np.int64) + 1970).all()
    assert (month == times.astype("datetime64[M]").astype(np.int64) % 12 + 1).all()
    assert year[:4].tolist() == [1969, 1970, 2000, 1900] and month[:4].tolist() == [12, 1, 2, 3]


def test_row_groups_appear_complete_or_not_at_all(tmp_path):
    target = tmp_path / "out.parquet"
    part = {"line": np.arange(1, 5_001), "state": Coded(np.zeros(5_000, dtype=np.int32), ["COMPLETED"])}
    with pytest.raises(RuntimeError), ParquetRowGroups(target) as out:
        assert out.put(part)
        raise RuntimeError("the pricing failed")
    assert list(tmp_path.iterdir()) == []
    with ParquetRowGroups(target) as out:
        assert out.put(part) and out.put(part)
        out.commit()
    assert pd.read_parquet(target)["line"].tolist() == [*range(1, 5_001)] * 2
    chunk = pq.read_metadata(target).row_group(0)
    dictionary = {chunk.column(i).path_in_schema: chunk.column(i).has_dictionary_page for i in range(2)}
    assert dictionary == {"line": False, "state": True}  # one value per job: no dictionary to overflow
    assert list(tmp_path.iterdir()) == [target]


def test_a_part_whose_text_column_changes_kind_is_refused(tmp_path):
    """A text column with no text in the first part is written as the null type; a later part with
    text cannot join it (the caller then writes the file at once, as pandas would)."""
    with ParquetRowGroups(tmp_path / "out.parquet") as out:
        assert out.put({"user": Coded(np.full(3, -1, dtype=np.int32), [])})
        assert not out.put({"user": Coded(np.zeros(3, dtype=np.int32), ["ada"])})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "job_ids",
    [
        lambda count: [str(count - i) for i in range(count)],  # numbered backwards: distinct, not in order
        lambda count: [str(i % 300 if i < 600 else i) for i in range(count)],  # part 2 (of 300) repeats part 1
        lambda count: [*map(str, range(count - 1)), "3"],  # in order but the last, a repeat
    ],
    ids=["distinct-backwards", "a-part-repeats", "last-repeats"],
)
def test_job_ids_checked_across_parts(tmp_path, capsys, monkeypatch, job_ids):
    """Ids are checked once every part is read (those in order, part by part): a repeat in a later
    part than its first sends the log the pandas way, which says which record; distinct ids in
    any order keep the columnar run."""
    monkeypatch.setattr("carbon.batch.run.COLUMN_CHUNK_ROWS", 300)
    frame = mixed_jobs(1_000, seed=7).assign(job_id=job_ids(1_000))
    log, out, pandas_out = tmp_path / "jobs.parquet", tmp_path / "out.parquet", tmp_path / "pandas.parquet"
    write_log(frame, log)
    assert main(["batch", str(log), "--region", "FR", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    distinct = frame["job_id"].is_unique
    assert (pq.read_metadata(out).metadata is None) == distinct  # None: the columnar run's file
    assert printed.strip() == through_pandas(log, pandas_out, Settings(region="FR")).strip()
    assert ("rejected 0" in printed) == distinct
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(pandas_out))


def test_joined_columns_are_the_parts_end_to_end():
    joined = Joined(5)
    joined.put(0, {"co2e_kg": np.array([1.0, np.nan]), "state": Coded(np.array([1, -1], dtype=np.int32), ["A", "B"])})
    joined.put(
        2, {"co2e_kg": np.array([3.0, 4.0, 5.0]), "state": Coded(np.array([0, 1, 0], dtype=np.int32), ["B", "C"])}
    )
    columns = joined.columns()
    assert columns["co2e_kg"][2:].tolist() == [3.0, 4.0, 5.0] and np.isnan(columns["co2e_kg"][1])
    assert list(columns["state"]) == ["B", None, "B", "C", "B"]


def test_a_column_with_about_one_value_per_job_is_written_without_dictionary(tmp_path):
    """Encodings are chosen from the first 64 k rows: values that keep coming new (a CO2e figure
    per job) are written plain, values that repeat more and more (an energy figure from a few
    thousand job shapes) as a dictionary; the data reads back the same either way."""
    rng = np.random.default_rng(2)
    rows = 70_000
    part = {
        "co2e_kg": rng.random(rows),
        "energy_kwh": rng.choice(rng.random(5_000), rows),
    }
    target = tmp_path / "out.parquet"
    with ParquetRowGroups(target) as out:
        assert out.put(part)
        out.commit()
    chunk = pq.read_metadata(target).row_group(0)
    dictionary = {chunk.column(i).path_in_schema: chunk.column(i).has_dictionary_page for i in range(2)}
    assert dictionary == {"co2e_kg": False, "energy_kwh": True}
    back = pd.read_parquet(target)
    assert back["co2e_kg"].tolist() == part["co2e_kg"].tolist()
    assert back["energy_kwh"].tolist() == part["energy_kwh"].tolist()
