"""Collection on SQLite and PostgreSQL: real run logs and batch rows in, idempotent, rollups exact."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from fixtures.server_app import app_on, bearer, seed
from sqlalchemy import func, select

import carbon
from carbon.server.db import make_engine
from carbon.server.models import DailyRollup, IntervalRecord, Run


@pytest.fixture(scope="module")
def run_log(tmp_path_factory):
    """A real run log written by the tracker: a few 50 ms intervals."""
    folder = tmp_path_factory.mktemp("runs")
    with carbon.track(region="FR", interval_s=0.1, output_dir=str(folder), experiment="exp1") as tracker:
        time.sleep(0.4)
    return tracker.run_log


@pytest.fixture
def served(database_url):
    tenant = seed(database_url)
    other = seed(database_url, org="globex", project="ml")
    with TestClient(app_on(database_url, max_records=1000)) as client:
        yield client, tenant, other, database_url


def lines_of(path):
    with open(path, "rb") as handle:
        return [json.loads(line) for line in handle]


def test_run_log_ingested_once(served, run_log):
    client, tenant, _, url = served
    body = open(run_log, "rb").read()
    records = lines_of(run_log)
    assert len(records) >= 3
    headers = {**bearer(tenant.ingest), "content-type": "application/x-ndjson"}
    first = client.post("/v1/ingest/runs", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": len(records), "duplicates": 0, "rejected": []}
    again = client.post("/v1/ingest/runs", content=body, headers=headers)
    assert again.json() == {"accepted": 0, "duplicates": len(records), "rejected": []}

    run_id = records[0]["run_id"]
    state = client.get(f"/v1/ingest/runs/{run_id}", headers=bearer(tenant.ingest)).json()
    assert state == {"run_id": run_id, "records": len(records), "max_seq": len(records) - 1, "status": "running"}

    # Totals: the sums of the log's own lines, once, on the run, in the rollups and through the API.
    expected = {k: sum(r[k] for r in records) for k in ("energy_kwh", "co2e_kg", "co2e_kg_low", "co2e_kg_high")}
    engine = make_engine(url)
    with engine.connect() as connection:
        run = connection.execute(select(Run)).one()
        assert run.records == len(records)
        for key, value in expected.items():
            assert getattr(run, key) == pytest.approx(value, rel=1e-12)
        rollup = connection.execute(
            select(func.sum(DailyRollup.co2e_kg), func.sum(DailyRollup.count), func.sum(DailyRollup.records))
        ).one()
        assert rollup[0] == pytest.approx(expected["co2e_kg"], rel=1e-12)
        assert rollup[1:] == (1, len(records))  # one run, its intervals
        assert connection.execute(select(func.count()).select_from(IntervalRecord)).scalar() == len(records)
    engine.dispose()
    totals = client.get("/v1/projects/ml/totals", headers=bearer(tenant.read)).json()["totals"]
    assert totals == [
        {
            "kind": "run",
            "basis": "lifecycle",
            "count": 1,
            "records": len(records),
            **{
                k: pytest.approx(sum(r[k] for r in records), rel=1e-12)
                for k in ("energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high")
            },
        }
    ]
    run = client.get(f"/v1/projects/ml/runs/{run_id}", headers=bearer(tenant.read)).json()
    assert run["experiment"] == "exp1"
    assert [i["seq"] for i in run["intervals"]] == list(range(len(records)))
    first_interval = records[0]
    assert run["intervals"][0]["power_w"] == pytest.approx(
        first_interval["energy_kwh"] * 3.6e6 / first_interval["duration_s"]
    )


def test_partial_resend_adds_only_the_new(served, run_log):
    client, tenant, _, _ = served
    records = lines_of(run_log)
    headers = bearer(tenant.ingest)
    assert client.post("/v1/ingest/runs", json=records[:2], headers=headers).json()["accepted"] == 2
    answer = client.post("/v1/ingest/runs", json=records, headers=headers).json()
    assert answer == {"accepted": len(records) - 2, "duplicates": 2, "rejected": []}
    run = client.get("/v1/projects/ml/runs", headers=bearer(tenant.read)).json()[0]
    assert run["records"] == len(records)
    assert run["co2e_kg"] == pytest.approx(sum(r["co2e_kg"] for r in records), rel=1e-12)


def test_bad_records_are_named_the_rest_kept(served, run_log):
    client, tenant, _, _ = served
    records = lines_of(run_log)[:3]
    bad_seq = {**records[1], "seq": -1}
    bad_range = {**records[2], "co2e_kg_low": records[2]["co2e_kg"] * 2}
    no_time = {k: v for k, v in records[0].items() if k != "start"} | {"seq": 7}
    answer = client.post(
        "/v1/ingest/runs", json=[records[0], bad_seq, bad_range, "text", no_time], headers=bearer(tenant.ingest)
    ).json()
    assert answer["accepted"] == 1
    reasons = {r["index"]: r["reason"] for r in answer["rejected"]}
    assert set(reasons) == {1, 2, 3, 4}
    assert "seq" in reasons[1]
    assert "co2e_kg must satisfy low <= central <= high" in reasons[2]
    assert "object" in reasons[3]
    assert reasons[4] == "start is missing"
    torn = client.post(
        "/v1/ingest/runs",
        content=json.dumps(records[1]).encode() + b'\n{"torn',
        headers={**bearer(tenant.ingest), "content-type": "application/x-ndjson"},
    ).json()
    assert torn["accepted"] == 1 and [r["index"] for r in torn["rejected"]] == [1]


def test_summary_finishes_the_run(served, run_log):
    client, tenant, _, _ = served
    records = lines_of(run_log)
    summary = {"schema": "carbon.run-summary/1", "run_id": records[0]["run_id"], "exit_code": 0, "status": "finished"}
    answer = client.post("/v1/ingest/runs", json=[*records, summary], headers=bearer(tenant.ingest)).json()
    assert answer["accepted"] == len(records) + 1
    run = client.get(f"/v1/projects/ml/runs/{records[0]['run_id']}", headers=bearer(tenant.read)).json()
    assert run["status"] == "finished" and run["exit_code"] == 0


BATCH_ROWS = [
    # Two jobs of one log: 2 kWh x 50 g/kWh = 0.1 kg and 1 kWh x 50 g/kWh = 0.05 kg.
    {
        "source": "sacct-nov.txt",
        "job_id": "101",
        "user": "ada",
        "account": "phys",
        "region": "FR",
        "start": "2026-11-02T10:00:00Z",
        "end": "2026-11-02T12:00:00Z",
        "energy_kwh": 2.0,
        "energy_kwh_low": 1.5,
        "energy_kwh_high": 2.5,
        "co2e_kg": 0.1,
        "co2e_kg_low": 0.05,
        "co2e_kg_high": 0.2,
        "intensity_basis": "lifecycle",
    },
    {
        "source": "sacct-nov.txt",
        "job_id": 102,
        "user": "bob",
        "account": "chem",
        "region": "FR",
        "start": "2026-11-03T10:00:00Z",
        "end": "2026-11-03T11:00:00Z",
        "energy_kwh": 1.0,
        "co2e_kg": 0.05,
        "intensity_basis": "lifecycle",
    },
]


def test_batch_rows_idempotent_by_source_and_job(served):
    client, tenant, _, _ = served
    headers = bearer(tenant.ingest)
    assert client.post("/v1/ingest/batch", json=BATCH_ROWS, headers=headers).json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [],
    }
    assert client.post("/v1/ingest/batch", json=BATCH_ROWS, headers=headers).json()["duplicates"] == 2
    # The same job id from another source is another job.
    other = [{**BATCH_ROWS[0], "source": "sacct-dec.txt"}]
    assert client.post("/v1/ingest/batch", json=other, headers=headers).json()["accepted"] == 1
    state = client.get("/v1/ingest/batch", params={"source": "sacct-nov.txt"}, headers=headers).json()
    assert state == {"source": "sacct-nov.txt", "jobs": 2}
    imports = {b["source"]: b for b in client.get("/v1/projects/ml/batch", headers=bearer(tenant.read)).json()}
    assert imports["sacct-nov.txt"]["co2e_kg"] == pytest.approx(0.15)
    assert imports["sacct-nov.txt"]["co2e_kg_high"] == pytest.approx(0.25)  # 0.2 + 0.05 (no range: central)
    totals = client.get("/v1/projects/ml/totals", headers=bearer(tenant.read)).json()["totals"]
    assert totals[0]["kind"] == "batch" and totals[0]["count"] == 3
    assert totals[0]["co2e_kg"] == pytest.approx(0.25)


def test_batch_source_from_query_and_missing(served):
    client, tenant, _, _ = served
    rows = [{k: v for k, v in BATCH_ROWS[0].items() if k != "source"}]
    missing = client.post("/v1/ingest/batch", json=rows, headers=bearer(tenant.ingest)).json()
    assert missing["accepted"] == 0 and "source is missing" in missing["rejected"][0]["reason"]
    given = client.post("/v1/ingest/batch?source=jobs.csv", json=rows, headers=bearer(tenant.ingest)).json()
    assert given["accepted"] == 1


def test_auth_and_isolation(served, run_log):
    client, tenant, other, _ = served
    records = lines_of(run_log)
    assert client.post("/v1/ingest/runs", json=records).status_code == 401
    assert client.post("/v1/ingest/runs", json=records, headers=bearer("carbon_nope")).status_code == 401
    assert client.post("/v1/ingest/runs", json=records, headers=bearer(tenant.read)).status_code == 403
    assert client.get("/v1/projects", headers=bearer(tenant.ingest)).status_code == 403
    # An organisation token must name the project; another organisation's project is not found.
    assert client.post("/v1/ingest/runs", json=records, headers=bearer(tenant.admin)).status_code == 400
    assert client.post("/v1/ingest/runs?project=ml", json=records, headers=bearer(other.admin)).json()["accepted"]
    assert client.post("/v1/ingest/runs?project=ml", json=records, headers=bearer(tenant.admin)).json()["accepted"]
    # Each organisation sees its own copy only.
    for who in (tenant, other):
        runs = client.get("/v1/projects/ml/runs", headers=bearer(who.read)).json()
        assert len(runs) == 1 and runs[0]["records"] == len(records)
    assert client.get("/v1/projects/nope/runs", headers=bearer(tenant.read)).status_code == 404


def test_too_many_records_is_413(served, run_log):
    client, tenant, _, _ = served
    record = lines_of(run_log)[0]
    body = [{**record, "seq": i} for i in range(1001)]
    assert client.post("/v1/ingest/runs", json=body, headers=bearer(tenant.ingest)).status_code == 413
