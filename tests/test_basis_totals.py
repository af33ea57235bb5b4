"""One basis per total: batch summaries, run summaries and region comparisons never add or
compare a lifecycle kilogram with a direct or operational one."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pandas as pd
import pytest

from carbon.batch import summary
from carbon.batch.run import estimate_logs
from carbon.cli import main
from carbon.model import Bounds, Energy, Estimate, Location, Usage
from carbon.report import compare_regions
from carbon.report import summary as report_summary
from carbon.tracker import Totals

LOG = (
    "job_id,start,end,region,cpus,cpu_util,state\n"
    "east,2023-03-01T00:00Z,2023-03-01T02:00Z,aws:us-east-1,4,0.5,COMPLETED\n"
    "canada,2023-03-01T00:00Z,2023-03-01T02:00Z,aws:ca-central-1,4,0.5,FAILED\n"
    "belgium,2023-03-01T00:00Z,2023-03-01T02:00Z,gcp:europe-west1,4,0.5,COMPLETED\n"
    "belgium2,2023-03-02T00:00Z,2023-03-02T01:00Z,gcp:europe-west1,2,0.5,COMPLETED\n"
)


def test_batch_over_three_bases_reports_a_total_per_basis(tmp_path, capsys):
    log = tmp_path / "jobs.csv"
    log.write_text(LOG)
    results = estimate_logs([log]).results.set_index("job_id")
    # The regions' bases, from the bundle's sources: Ember (US-VA, lifecycle), ECCC (CA-QC, direct),
    # Google's regional figure (operational from 2021).
    assert results["intensity_basis"].to_dict() == {
        "east": "lifecycle",
        "canada": "direct",
        "belgium": "operational",
        "belgium2": "operational",
    }
    totals = summary.totals(results.reset_index())
    assert "co2e_kg" not in totals  # no grand total across bases
    assert totals["energy_kwh"] == pytest.approx(results["energy_kwh"].sum())
    by_basis = totals["by_basis"]
    assert by_basis["lifecycle"]["co2e_kg"] == pytest.approx(results.loc["east", "co2e_kg"])
    assert by_basis["direct"]["co2e_kg"] == pytest.approx(results.loc["canada", "co2e_kg"])
    assert by_basis["direct"]["failed_share"] == 1.0
    assert by_basis["operational"]["co2e_kg"] == pytest.approx(results.loc[["belgium", "belgium2"], "co2e_kg"].sum())
    assert by_basis["operational"]["jobs"] == 2

    out = tmp_path / "summary.csv"
    assert main(["batch", str(log), "--summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CO2e on 3 emission-factor bases, one total each (not summed across bases)" in printed
    for basis in ("lifecycle", "direct", "operational"):
        assert f"  {basis}: " in printed
    table = pd.read_csv(out)
    states = table[table["dimension"] == "state"].set_index(["key", "intensity_basis"])
    assert states.loc[("COMPLETED", "operational"), "jobs"] == 2
    assert states.loc[("COMPLETED", "operational"), "co2e_share"] == 1.0  # of the operational total
    assert states.loc[("FAILED", "direct"), "co2e_share"] == 1.0


def test_what_if_compares_only_within_a_basis(tmp_path, capsys):
    log = tmp_path / "jobs.csv"
    log.write_text(LOG)
    assert main(["batch", str(log), "--what-if-region", "FR"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("what if"))
    # FR is lifecycle (Ember): only the aws:us-east-1 job ran on that basis too.
    assert re.search(r"[\d.]+ k?g CO2e lifecycle \(", line) and re.search(
        r"[\d.]+ k?g for the 1 jobs that ran on lifecycle too\)", line
    )
    assert "; 3 jobs not compared (they ran on direct, operational)" in line


def _estimate(basis: str, co2e_g_per_kwh: float) -> Estimate:
    return Estimate(
        Energy(cpu_kwh=Bounds.exact(1.0)),
        Bounds.exact(1.0),
        Bounds.exact(co2e_g_per_kwh),
        Location("FR", "FR", "FR"),
        (),
        usage=Usage(duration_s=10),
        intensity_basis=basis,
    )


def test_run_totals_keep_one_sum_per_basis():
    totals = Totals()
    totals.add(_estimate("lifecycle", 100.0), "hour")
    totals.add(_estimate("lifecycle", 50.0), "hour")
    totals.add(_estimate("marginal", 400.0), "hour")
    report = totals.basis_report()
    assert report["lifecycle"] == pytest.approx(
        {"energy_kwh": 2.0, "co2e_kg": 0.15, "co2e_kg_low": 0.15, "co2e_kg_high": 0.15, "intervals": 2}
    )
    assert report["marginal"]["co2e_kg"] == 0.4 and report["marginal"]["intervals"] == 1


def test_run_summary_text_prints_each_basis_and_no_single_total():
    estimate = _estimate("lifecycle/marginal", 183.0).with_extra(
        co2e_by_basis={
            "lifecycle": {
                "energy_kwh": 2.0,
                "co2e_kg": 0.15,
                "co2e_kg_low": 0.15,
                "co2e_kg_high": 0.15,
                "intervals": 2,
            },
            "marginal": {"energy_kwh": 1.0, "co2e_kg": 0.4, "co2e_kg_low": 0.4, "co2e_kg_high": 0.4, "intervals": 1},
        }
    )
    text = report_summary(estimate)
    assert "CO2e lifecycle:" in text and "CO2e marginal:" in text and "not summed across bases" in text
    assert "CO2e:  " not in text and "km driven" not in text


def test_same_work_elsewhere_uses_the_estimates_basis():
    import carbon

    canada = carbon.estimate("aws:ca-central-1", energy_kwh=1.0, start=datetime(2023, 3, 1, tzinfo=timezone.utc))
    comparison = compare_regions(canada)
    assert comparison.basis == "direct" and canada.intensity_basis == "direct"
    # Only the AWS regions on a direct-basis grid (ECCC's Canadian provinces) are compared.
    assert {comparison.lowest_region, comparison.highest_region} == {"aws:ca-central-1", "aws:ca-west-1"}
    assert comparison.regions == 2
