"""The vectorised engine against hand calculation from the dataset figures in the test bundle
(tests/fixtures/batch_support.py lists each figure and its dataset)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from batch_support import (
    AWS_PUE,
    BROADWELL,
    CASCADE_LAKE,
    CISO_2022_02_18,
    FIXTURES,
    FR_2022_02,
    MEMORY_W_PER_GB,
    SKYLAKE,
    US_2022_02,
    bundle,  # noqa: F401  (the fixture, used through pytestmark)
)
from carbon.batch.engine import Settings, estimate_frame
from carbon.batch.factors import Factors
from carbon.batch.hardware import HardwareMap, HardwareSpec
from carbon.batch.run import estimate_logs
from carbon.batch.schema import conform
from datasets import unpacked

pytestmark = pytest.mark.usefixtures("bundle")

C5_MIN = ((SKYLAKE[0] + CASCADE_LAKE[0]) / 2, min(SKYLAKE[0], CASCADE_LAKE[0]), max(SKYLAKE[0], CASCADE_LAKE[0]))
C5_MAX = ((SKYLAKE[1] + CASCADE_LAKE[1]) / 2, min(SKYLAKE[1], CASCADE_LAKE[1]), max(SKYLAKE[1], CASCADE_LAKE[1]))


def jobs(**columns) -> pd.DataFrame:
    frame = pd.DataFrame({"line": np.arange(1, len(columns["start"]) + 1), **columns})
    return conform(frame)


def c5_job_expected(utils=None):
    """Job 67108977 of the sacct fixture: c5.large, 1 CPU, 100M, 18:01:40-18:03:38 (118 s), TotalCPU 0.018 s."""
    u = 0.018 / 118
    cpu_w = [C5_MIN[i] + u * (C5_MAX[i] - C5_MIN[i]) for i in range(3)]
    ram_w = [100 / 1024 * w for w in MEMORY_W_PER_GB]
    it_kwh = [(cpu_w[i] + ram_w[i]) * 118 / 3600 / 1000 for i in range(3)]
    return u, it_kwh


def test_sacct_job_by_hand():
    result = estimate_logs([FIXTURES / "sacct_excerpt.txt"], settings=Settings(region="aws:us-east-1"))
    row = result.results.set_index("job_id").loc["67108977"]
    _, it_kwh = c5_job_expected()
    energy = [k * AWS_PUE for k in it_kwh]  # AWS fleet PUE, no regional figure: exact
    co2e = [e * US_2022_02 / 1000 for e in energy]  # Ember US, February 2022
    assert [row["energy_kwh"], row["energy_kwh_low"], row["energy_kwh_high"]] == pytest.approx(energy, rel=1e-12)
    assert [row["co2e_kg"], row["co2e_kg_low"], row["co2e_kg_high"]] == pytest.approx(co2e, rel=1e-12)
    assert row["intensity_granularity"] == "month" and row["pue"] == AWS_PUE
    assert row["hardware_used"] == "c5.large" and row["state"] == "CANCELLED"
    assert result.read == 9 and len(result.results) == 9 and len(result.rejects) == 0


def test_same_numbers_as_the_offline_estimate():
    import carbon

    result = estimate_logs([FIXTURES / "sacct_excerpt.txt"], settings=Settings(region="aws:us-east-1"))
    row = result.results.set_index("job_id").loc["67108977"]
    u, _ = c5_job_expected()
    single = carbon.estimate(
        "aws:us-east-1",
        instance_type="c5.large",
        cpus=1,
        memory_gb=100 / 1024 * 2**30 / 10**9,  # sacct's 100M is 100 MiB; carbon takes decimal GB
        duration_s=118,
        cpu_util=u,
        start=datetime(2022, 2, 18, 18, 1, 40, tzinfo=timezone.utc),
    )
    assert (row["co2e_kg"], row["co2e_kg_low"], row["co2e_kg_high"]) == pytest.approx(
        single.co2e_kg.as_tuple(), rel=1e-12
    )


def test_blank_constraints_use_fleet_average_per_vcpu():
    result = estimate_logs([FIXTURES / "sacct_excerpt.txt"], settings=Settings(region="aws:us-east-1"))
    row = result.results.set_index("job_id").loc["67108865"]
    u = 130.584 / 316  # TotalCPU / Elapsed, 1 CPU
    cpu_w = 0.74 + u * (3.5 - 0.74)  # default_min/max_w_per_vcpu (CCF averages)
    it = (cpu_w + 100 / 1024 * 0.392) * 316 / 3600 / 1000
    assert row["energy_kwh"] == pytest.approx(it * AWS_PUE, rel=1e-12)
    assert row["hardware_used"] == "vCPUs only (fleet average)" and row["hardware_method"] == "default"


def test_yearly_intensity_carries_the_monthly_spread():
    result = estimate_logs([FIXTURES / "sacct_excerpt.txt"], settings=Settings(region="US", granularity="year"))
    row = result.results.iloc[0]
    # Ember US 2022: 410.37; the months of 2022 in the bundle: 408.89 and 375.144.
    assert (row["intensity_g_per_kwh"], row["intensity_g_per_kwh_low"], row["intensity_g_per_kwh_high"]) == (
        410.37,
        375.144,
        410.37,
    )
    assert row["intensity_granularity"] == "year"


def test_hourly_series_integrated_over_each_job():
    frame = jobs(
        job_id=["across", "inside", "uncovered", "instant"],
        start=pd.to_datetime(["2022-02-18T16:30Z", "2022-02-18T17:10Z", "2022-03-01T00:00Z", "2022-02-18T18:15Z"]),
        end=pd.to_datetime(["2022-02-18T18:30Z", "2022-02-18T17:50Z", "2022-03-01T01:00Z", "2022-02-18T18:15Z"]),
        region=["aws:us-west-1"] * 4,
        hardware=["m5.large"] * 4,
        cpus=[2.0] * 4,
        cpu_util=[0.25] * 4,
    )
    out = estimate_frame(frame, Settings()).set_index("job_id")
    across = (0.5 * CISO_2022_02_18[16] + CISO_2022_02_18[17] + 0.5 * CISO_2022_02_18[18]) / 2
    assert out.loc["across", "intensity_g_per_kwh"] == pytest.approx(across, rel=1e-12)
    assert out.loc["inside", "intensity_g_per_kwh"] == pytest.approx(CISO_2022_02_18[17], rel=1e-12)
    assert out.loc["instant", "intensity_g_per_kwh"] == pytest.approx(CISO_2022_02_18[18], rel=1e-12)
    assert out.loc["across", "intensity_granularity"] == "hour"
    # Not covered by the series: the zone's annual figure (mean of the 2022 hourly values).
    assert out.loc["uncovered", "intensity_g_per_kwh"] == 256.19
    assert out.loc["uncovered", "intensity_granularity"] == "year"
    # m5.large, 2 vCPUs at 25 %, 8 GB (its memory: the job named none), 2 h, AWS PUE.
    cpu_w = 2 * (C5_MIN[0] + 0.25 * (C5_MAX[0] - C5_MIN[0]))  # m5 has the same Skylake|Cascade Lake CPUs
    energy = (cpu_w + 8 * 0.392) * 2 / 1000 * AWS_PUE
    assert out.loc["across", "co2e_kg"] == pytest.approx(energy * across / 1000, rel=1e-12)


def test_measured_energy_replaces_the_model():
    frame = jobs(
        job_id=["m"],
        start=pd.to_datetime(["2022-02-10T00:00Z"]),
        end=pd.to_datetime(["2022-02-10T02:00Z"]),
        region=["FR"],
        cpus=[4.0],
        measured_kwh=[1.5],
    )
    row = estimate_frame(frame, Settings()).iloc[0]
    # Off the cloud: PUE 1.0 (on-premises) up to 1.55 (unknown data centre); France Feb 2022 67.093.
    assert (row["energy_kwh"], row["energy_kwh_low"], row["energy_kwh_high"]) == pytest.approx((1.5, 1.5, 1.5 * 1.55))
    assert row["co2e_kg"] == pytest.approx(1.5 * FR_2022_02 / 1000)
    assert row["energy_method"] == "measured" and row["cpu_kwh"] == 0 and row["other_kwh"] == 1.5


def test_partition_map_gpu_and_tdp():
    mapping = HardwareMap(
        partitions={
            "gpu": HardwareSpec(instance_type="p3.2xlarge"),
            "cpu": HardwareSpec(cpu_model="Intel Xeon Gold 6248", cpus=40),
        }
    )
    frame = jobs(
        job_id=["g", "c"],
        start=pd.to_datetime(["2022-02-10T00:00Z"] * 2),
        end=pd.to_datetime(["2022-02-10T01:00Z"] * 2),
        partition=["gpu", "cpu"],
        cpus=[8.0, 20.0],
        gpus=[1.0, np.nan],
        memory_gb=[0.0, 0.0],
        cpu_util=[0.5, 0.5],
    )
    out = estimate_frame(frame, Settings(region="US"), Factors(hardware_map=mapping)).set_index("job_id")
    # V100: TDP 300 W, idle 30 % of TDP (20-40 %); utilisation unknown: 50 % central, 0..1 range.
    assert out.loc["g", "gpu_kwh"] == pytest.approx((90 + 0.5 * (300 - 90)) / 1000)
    assert out.loc["g", "cpu_kwh"] == pytest.approx(8 * (BROADWELL[0] + 0.5 * (BROADWELL[1] - BROADWELL[0])) / 1000)
    # Xeon Gold 6248: TDP 150 W over 40 threads, the job holds 20 -> 75 W, idle share = mean min/max ratio.
    idle = np.mean([SKYLAKE[0] / SKYLAKE[1], CASCADE_LAKE[0] / CASCADE_LAKE[1], BROADWELL[0] / BROADWELL[1]])
    assert out.loc["c", "cpu_kwh"] == pytest.approx(75 * (idle + 0.5 * (1 - idle)) / 1000)
    assert list(out["hardware_method"]) == ["map", "map"]


def test_what_if_region_and_shift():
    result = estimate_logs(
        [FIXTURES / "sacct_excerpt.txt"], settings=Settings(region="aws:us-east-1", what_if_region="FR")
    )
    row = result.results.set_index("job_id").loc["67108977"]
    _, it_kwh = c5_job_expected()
    assert row["what_if_co2e_kg"] == pytest.approx(it_kwh[0] * 1.0 * FR_2022_02 / 1000, rel=1e-12)
    assert row["co2e_kg"] == pytest.approx(it_kwh[0] * AWS_PUE * US_2022_02 / 1000, rel=1e-12)
    frame = jobs(
        job_id=["s"],
        start=pd.to_datetime(["2022-02-18T16:00Z"]),
        end=pd.to_datetime(["2022-02-18T17:00Z"]),
        region=["aws:us-west-1"],
        cpus=[1.0],
        cpu_util=[1.0],
    )
    from carbon.batch.run import estimate_with_what_if

    shifted = estimate_with_what_if(frame, Settings(what_if_shift_h=2), Factors()).iloc[0]
    assert shifted["intensity_g_per_kwh"] == pytest.approx(CISO_2022_02_18[16])
    assert shifted["what_if_intensity_g_per_kwh"] == pytest.approx(CISO_2022_02_18[18])


def test_rejects_keep_their_line(tmp_path):
    log = tmp_path / "jobs.csv"
    log.write_text(
        "job_id,start,end,region,cpus\n"
        "ok,2022-02-01T00:00Z,2022-02-01T01:00Z,FR,1\n"
        "far,2022-02-01T00:00Z,2022-02-01T01:00Z,XX,1\n"
        "back,2022-02-01T02:00Z,2022-02-01T01:00Z,FR,1\n"
        "where,2022-02-01T00:00Z,2022-02-01T01:00Z,,1\n"
        "what,2022-02-01T00:00Z,2022-02-01T01:00Z,FR,\n"
    )
    result = estimate_logs([log])
    assert result.results["job_id"].tolist() == ["ok"]
    reasons = dict(zip(result.rejects["line"], result.rejects["reason"]))
    assert reasons[3].startswith("unknown region 'XX'")
    assert reasons[4] == "end before start"
    assert reasons[5].startswith("no region")
    assert reasons[6].startswith("unknown hardware")
    assert result.read == 5 == len(result.results) + len(result.rejects)


def test_full_fixture_every_job_accounted_for(tmp_path):
    log = unpacked("slurm-sacct/sacct-output-v2.txt", tmp_path)
    result = estimate_logs([log], settings=Settings(region="aws:us-east-1"))
    assert result.read == 483 and len(result.results) == 483 and len(result.rejects) == 0
    assert (result.results["co2e_kg_low"] <= result.results["co2e_kg"]).all()
    assert (result.results["co2e_kg"] <= result.results["co2e_kg_high"]).all()
    assert result.results["hardware_used"].value_counts().to_dict() == {
        "vCPUs only (fleet average)": 172,
        "m5.large": 171,
        "c5.large": 140,
    }


def random_jobs(count: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2021-06-01T00:00Z") + pd.to_timedelta(rng.integers(0, 300 * 86400, count), unit="s")
    start = start.where(
        rng.random(count) > 0.3,
        pd.Timestamp("2022-02-18T00:00Z") + pd.to_timedelta(rng.integers(0, 80000, count), unit="s"),
    )
    duration = pd.to_timedelta(rng.integers(0, 20000, count), unit="s")
    return jobs(
        job_id=[str(i) for i in range(count)],
        start=start,
        end=start + duration,
        region=rng.choice(["aws:us-east-1", "aws:us-west-1", "FR", "US", "XX"], count),
        hardware=rng.choice(["m5.large", "c5.large", "p3.2xlarge", None], count),
        cpus=rng.choice([1.0, 2.0, 8.0, np.nan], count),
        cpu_util=np.where(rng.random(count) > 0.2, rng.random(count), np.nan),
        memory_gb=rng.choice([1.0, 4.0, np.nan], count),
        measured_kwh=np.where(rng.random(count) > 0.9, rng.random(count), np.nan),
        state=rng.choice(["COMPLETED", "FAILED"], count),
    )


def compare_engines(count: int, partitions: int) -> None:
    from carbon.batch.run import _dask, _pandas

    frame = random_jobs(count)
    settings = Settings(what_if_region="FR")
    one = _pandas(frame, settings, Factors())
    other = _dask(frame, settings, HardwareMap(), None, partitions)
    assert len(one) == len(other) == count
    pd.testing.assert_series_equal(one["reject_reason"], other["reject_reason"], check_dtype=False)
    for name in (
        "energy_kwh",
        "energy_kwh_low",
        "energy_kwh_high",
        "co2e_kg",
        "co2e_kg_low",
        "co2e_kg_high",
        "intensity_g_per_kwh",
        "what_if_co2e_kg",
    ):
        np.testing.assert_allclose(one[name].to_numpy(float), other[name].to_numpy(float), rtol=1e-12, equal_nan=True)


def test_chunked_run_equals_one_chunk(monkeypatch):
    """A log longer than a chunk is priced chunk by chunk and stitched: every column, dtype and
    row must be what one pass over the whole table gives (333 does not divide 2,000)."""
    import carbon.batch.run as run

    frame = random_jobs(2_000)
    settings = Settings(what_if_region="FR", what_if_shift_h=5)
    whole = run._pandas(frame, settings, Factors())
    monkeypatch.setattr(run, "CHUNK_ROWS", 333)
    chunked = run._pandas(frame, settings, Factors())
    assert chunked["what_if_co2e_kg"].notna().any() and chunked["reject_reason"].notna().any()
    pd.testing.assert_frame_equal(chunked, whole)


def test_pandas_and_dask_agree():
    compare_engines(3_000, 3)


@pytest.mark.slow
def test_pandas_and_dask_agree_on_100k_jobs():
    compare_engines(100_000, 8)


def test_dask_streams_a_parquet_log_partition_by_partition(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from carbon.batch.run import stream_parquet

    frame = random_jobs(5_000).drop(columns=["line"])
    frame.loc[2_500, "start"] = pd.NaT  # record 2501, in the third row group
    path = tmp_path / "jobs.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=1_000)
    streamed = stream_parquet(path, tmp_path / "out.parquet")
    in_memory = estimate_logs([path])
    assert streamed.read == in_memory.read == 5_000
    assert streamed.estimated == len(in_memory.results)
    assert sorted(streamed.rejects["line"]) == sorted(in_memory.rejects["line"])
    assert 2_501 in set(streamed.rejects["line"])
    back = pd.read_parquet(tmp_path / "out.parquet").sort_values("line").reset_index(drop=True)
    np.testing.assert_allclose(back["co2e_kg"], in_memory.results["co2e_kg"], rtol=1e-12)
    expected = in_memory.results.groupby("intensity_basis")["co2e_kg"].sum()  # CO2e only per basis
    assert {b: t["co2e_kg"] for b, t in streamed.totals["by_basis"].items()} == pytest.approx(
        expected.to_dict(), rel=1e-12
    )
    assert streamed.totals["energy_kwh"] == pytest.approx(in_memory.results["energy_kwh"].sum(), rel=1e-12)


def test_unrecorded_or_running_cpu_time_is_unknown_not_idle():
    """TotalCPU 00:00:00 (Slurm did not record it), a RUNNING job and a missing figure are all priced
    as unknown utilisation: central 50 %, range idle..full load; a recorded figure is kept."""
    frame = jobs(
        job_id=["zero", "running", "missing", "recorded"],
        start=pd.to_datetime(["2022-02-10T00:00Z"] * 4),
        end=pd.to_datetime(["2022-02-10T01:00Z"] * 4),
        region=["FR"] * 4,
        cpus=[1.0] * 4,
        state=["COMPLETED", "RUNNING", "COMPLETED", "COMPLETED"],
        cpu_time_s=[0.0, 900.0, np.nan, 36.0],
        cpu_util=[0.0, 0.25, np.nan, 0.01],
    )
    out = estimate_frame(frame, Settings()).set_index("job_id")
    unknown_w = 0.74 + 0.5 * (3.5 - 0.74)  # fleet average per vCPU (CCF), central 50 %
    for job in ("zero", "running", "missing"):
        assert np.isnan(out.loc[job, "cpu_util"])
        assert out.loc[job, "cpu_kwh"] == pytest.approx(unknown_w / 1000, rel=1e-12)
    assert out.loc["recorded", "cpu_util"] == 0.01
    assert out.loc["recorded", "cpu_kwh"] == pytest.approx((0.74 + 0.01 * (3.5 - 0.74)) / 1000, rel=1e-12)
    # The unknown job's range reaches full load; the recorded one's stays near idle.
    assert out.loc["zero", "energy_kwh_high"] > 3.5 / 1000 > out.loc["recorded", "energy_kwh_high"]


def test_sacct_total_cpu_zero_and_running_jobs_are_unknown_utilisation(tmp_path):
    """Read from sacct text: TotalCPU 00:00:00 and a RUNNING job are priced as unknown (central 50 %,
    fleet-average 0.74-3.5 W per vCPU), a recorded TotalCPU as recorded."""
    log = tmp_path / "jobs.txt"
    log.write_text(
        "JobID|State|Start|End|Elapsed|NCPUS|TotalCPU|ReqMem|Partition\n"
        "1|COMPLETED|2022-02-10T00:00:00|2022-02-10T01:00:00|01:00:00|2|00:00:00|0n|p\n"
        "2|RUNNING|2022-02-10T00:00:00|Unknown|01:00:00|2|00:10:00|0n|p\n"
        "3|COMPLETED|2022-02-10T00:00:00|2022-02-10T01:00:00|01:00:00|2|00:36:00|0n|p\n"
    )
    results = estimate_logs([log], settings=Settings(region="FR")).results.set_index("job_id")
    unknown_kwh = 2 * (0.74 + 0.5 * (3.5 - 0.74)) / 1000  # 2 vCPUs, 1 h
    for job in ("1", "2"):
        assert np.isnan(results.loc[job, "cpu_util"])
        assert results.loc[job, "cpu_kwh"] == pytest.approx(unknown_kwh, rel=1e-12)
    assert results.loc["3", "cpu_util"] == pytest.approx(0.3)  # 36 min of CPU over 2 CPUs x 60 min
    assert results.loc["3", "cpu_kwh"] == pytest.approx(2 * (0.74 + 0.3 * (3.5 - 0.74)) / 1000, rel=1e-12)


def test_a_consumed_table_keeps_only_the_carried_columns_and_prices_the_same():
    """estimate_frame(consume=True) frees the job table's inputs as it prices (carbon.batch.run
    hands it its own table): the table is left with the columns the output carries, and every
    output column is what pricing an untouched copy gives."""
    from carbon.batch.engine import CARRIED_COLUMNS

    frame = random_jobs(2_000)
    untouched = estimate_frame(frame.copy(), Settings(region="FR"))
    consumed = estimate_frame(frame, Settings(region="FR"), consume=True)
    assert list(frame.columns) == [name for name in frame.columns if name in CARRIED_COLUMNS]
    assert set(CARRIED_COLUMNS) <= set(frame.columns)
    assert consumed["reject_reason"].notna().any() and consumed["co2e_kg"].notna().any()
    pd.testing.assert_frame_equal(consumed, untouched)


def test_what_if_consumes_the_table_only_at_its_last_pricing():
    from carbon.batch.run import estimate_with_what_if

    frame = random_jobs(500)
    settings = Settings(region="FR", what_if_region="DE", what_if_shift_h=3)
    untouched = estimate_with_what_if(frame.copy(), settings, Factors())
    consumed = estimate_with_what_if(frame, settings, Factors(), consume=True)
    assert "cpus" not in frame and "line" in frame
    pd.testing.assert_frame_equal(consumed, untouched)
