"""The batch engine's named steps, each on its own. Expected values come from the bundled tables
read in the test or from hand calculation, never from the step under test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon.batch import engine
from carbon.batch.engine import Settings
from carbon.batch.factors import Factors
from carbon.batch.schema import conform
from carbon.bundle import table


def frame(**columns) -> pd.DataFrame:
    n = len(columns["start"])
    base = {"line": np.arange(1, n + 1), "job_id": [str(i) for i in range(n)]}
    return conform(pd.DataFrame({**base, **columns}))


def two_jobs(**extra) -> pd.DataFrame:
    return frame(
        start=pd.to_datetime(["2023-03-05T10:00Z", "2023-07-01T00:00Z"]),
        end=pd.to_datetime(["2023-03-05T12:00Z", "2023-06-30T23:00Z"]),
        region=["FR", None],
        cpus=[2.0, 4.0],
        **extra,
    )


def test_locate_resolves_regions_and_rejects_the_missing_one():
    rejects = engine._Rejects(2)
    where = engine.locate(two_jobs(), Settings(), Factors(), rejects)
    assert list(where.names) == ["FR", None] and list(where.zones) == ["FR", None]
    assert list(rejects.mask) == [False, True] and rejects.reason[1].startswith("no region")
    rejects = engine._Rejects(2)
    where = engine.locate(two_jobs(), Settings(region="aws:ca-central-1"), Factors(), rejects)
    assert list(where.names) == ["FR", "aws:ca-central-1"] and not rejects.mask.any()


def test_timing_shifts_measures_and_rejects_end_before_start():
    rejects = engine._Rejects(2)
    when = engine.timing(two_jobs(), Settings(what_if_shift_h=1), rejects)
    assert list(when.duration_s) == [7200.0, 0.0]
    assert list(when.year) == [2023, 2023] and list(when.month) == [3, 7]
    assert when.start.iloc[0] == pd.Timestamp("2023-03-05T11:00Z")
    assert list(rejects.reason) == [None, "end before start"]


def test_hardware_takes_the_catalog_and_shares_memory_by_cpus():
    jobs = frame(
        start=pd.to_datetime(["2023-03-05T10:00Z"] * 2),
        end=pd.to_datetime(["2023-03-05T11:00Z"] * 2),
        region=["aws:us-east-1"] * 2,
        hardware=["m5.xlarge", "m5.xlarge"],
        cpus=[np.nan, 2.0],
    )
    factors, rejects = Factors(), engine._Rejects(2)
    where = engine.locate(jobs, Settings(), factors, rejects)
    what = engine.hardware(jobs, factors, where, rejects)
    row = next(r for r in table("instances_aws") if r["instance_type"] == "m5.xlarge")  # 4 vCPUs, 16 GiB
    memory_gb = float(row["memory_gib"]) * 2**30 / 1e9  # the catalog's GiB in carbon's decimal GB
    assert list(what.vcpus) == [float(row["vcpus"]), 2.0]
    assert list(what.memory_gb) == pytest.approx([memory_gb, memory_gb * 2 / float(row["vcpus"])])
    assert len(what.models) == 2 and [m.vcpus for m in what.models] == [4.0, 2.0]


def test_modelled_energy_is_the_power_model_times_hours_and_measured_replaces_it():
    jobs = frame(
        start=pd.to_datetime(["2023-03-05T10:00Z"] * 3),
        end=pd.to_datetime(["2023-03-05T12:00Z"] * 3),
        region=["FR"] * 3,
        cpus=[2.0] * 3,
        cpu_util=[0.25, np.nan, 0.25],
        memory_gb=[10.0] * 3,
        measured_kwh=[np.nan, np.nan, 3.0],
    )
    factors, rejects = Factors(), engine._Rejects(3)
    where = engine.locate(jobs, Settings(), factors, rejects)
    what = engine.hardware(jobs, factors, where, rejects)
    energy = engine.modelled_energy(jobs, what, np.array([7200.0] * 3))
    constants = {r["name"]: r for r in table("constants")}
    low_w, high_w = (
        float(constants["default_min_w_per_vcpu"]["value"]),
        float(constants["default_max_w_per_vcpu"]["value"]),
    )
    memory_w = float(constants["memory_w_per_gb"]["value"])
    assert energy.cpu_kwh[0] == pytest.approx(2 * (low_w + 0.25 * (high_w - low_w)) * 2 / 1000)
    assert energy.cpu_kwh[1] == pytest.approx(2 * (low_w + 0.5 * (high_w - low_w)) * 2 / 1000)  # unknown: 50 %
    # the coefficient is per GiB: 10 GB is 10 / 1.073741824 GiB
    assert energy.ram_kwh[0] == pytest.approx(10 / (2**30 / 1e9) * memory_w * 2 / 1000)
    assert energy.cpu_kwh[2] == 0 and energy.it_kwh[0][2] == energy.it_kwh[1][2] == energy.it_kwh[2][2] == 3.0
    assert energy.it_kwh[1][1] < energy.it_kwh[0][1] < energy.it_kwh[2][1]


def test_pue_and_intensity_arrays_per_distinct_key():
    jobs = two_jobs()
    factors, rejects = Factors(), engine._Rejects(2)
    settings = Settings(region="FR", granularity="month")
    where = engine.locate(jobs, settings, factors, rejects)
    when = engine.timing(jobs, settings, rejects)
    pue = engine.pue_arrays(factors, where, when.year)
    assert [pue[0][0], pue[1][0]] == [1.0, 1.0]  # off the cloud: on-premises 1.0 ..
    assert pue[2][0] > 1.0  # .. up to the survey average for an unknown data centre
    intensity = engine.intensity_arrays(factors, settings, where, when, rejects)
    march = next(
        float(r["intensity_g_per_kwh"])
        for r in table("countries_monthly")
        if (r["iso2"], r["year"], r["month"]) == ("FR", "2023", "3")
    )
    assert intensity["bounds"][0][0] == march and list(intensity["granularity"]) == ["month", "month"]
    assert list(intensity["basis"]) == ["lifecycle", "lifecycle"]


def test_unused_memory_share():
    jobs = frame(
        start=pd.to_datetime(["2023-03-05T10:00Z"] * 3),
        end=pd.to_datetime(["2023-03-05T11:00Z"] * 3),
        memory_used_gb=[2.5, np.nan, 20.0],
    )
    share = engine.unused_memory_share(jobs, np.array([10.0, 10.0, 10.0]))
    assert list(share) == [0.75, 0.0, 0.0]


def test_runs_group_rows_by_code():
    order, runs = engine._runs(np.array([2, 0, 2, 1, 0]))
    assert [list(order[a:b]) for a, b in runs] == [[1, 4], [3], [0, 2]]


def test_states_numbered_part_by_part_as_factorize_numbers_them():
    from carbon.batch.summary import _numbered

    values = np.array(["FAILED", None, "COMPLETED", "FAILED", "TIMEOUT", None, "COMPLETED"], dtype=object)
    # Parts of two rows: a state first seen in a later part gets the next code; missing stays -1.
    codes, uniques = _numbered(values, rows=2)
    assert uniques == ["FAILED", "COMPLETED", "TIMEOUT"]
    assert codes.tolist() == [0, -1, 1, 0, 2, -1, 1]
    codes, uniques = _numbered(np.array([], dtype=object), rows=2)
    assert codes.tolist() == [] and uniques == []


def test_totals_of_one_basis_and_of_two():
    from carbon.batch.summary import totals

    results = pd.DataFrame(
        {
            "state": ["COMPLETED", "FAILED", "TIMEOUT", "COMPLETED"],
            "intensity_basis": ["lifecycle", "lifecycle", "lifecycle", None],
            **{name: [1.0, 2.0, 4.0, 8.0] for name in ("energy_kwh", "energy_kwh_low", "energy_kwh_high")},
            **{name: [10.0, 20.0, 40.0, 80.0] for name in ("co2e_kg", "co2e_kg_low", "co2e_kg_high")},
            "unused_memory_co2e_kg": [1.0, 0.0, 0.0, 2.0],
        }
    )
    one = totals(results.iloc[:3])
    assert list(one["by_basis"]) == ["lifecycle"] and one["energy_kwh"] == 7.0
    lifecycle = one["by_basis"]["lifecycle"]
    assert (lifecycle["jobs"], lifecycle["co2e_kg"], lifecycle["unused_memory_co2e_kg"]) == (3, 70.0, 1.0)
    assert lifecycle["failed_share"] == pytest.approx(20 / 70) and lifecycle["timeout_share"] == pytest.approx(40 / 70)
    two = totals(results)
    assert list(two["by_basis"]) == ["basis unknown", "lifecycle"] and two["energy_kwh"] == 15.0
    assert two["by_basis"]["lifecycle"] == lifecycle
    assert (two["by_basis"]["basis unknown"]["co2e_kg"], two["by_basis"]["basis unknown"]["jobs"]) == (80.0, 1)
