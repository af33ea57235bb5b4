"""Uploading from the tools to a real `carbon serve` process: live, after a server crash, and later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import requests
from fixtures.server_app import bearer, seed
from fixtures.server_process import ServerProcess

import carbon
from carbon.cli import main
from carbon.sinks.server import acknowledged, summary_path

FIXTURES = Path(__file__).parent / "fixtures"


def lines_of(path):
    with open(path, "rb") as handle:
        return [json.loads(line) for line in handle]


def server_run(url: str, token: str, run_id: str) -> dict:
    response = requests.get(f"{url}/v1/projects/ml/runs/{run_id}", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_interval_arrives_after_the_server_is_killed_mid_run(database_url, tmp_path):
    tenant = seed(database_url)
    server = ServerProcess(database_url, log_path=str(tmp_path / "server.log")).start()
    notes: list[str] = []
    try:
        tracker = carbon.track(
            region="FR",
            interval_s=0.1,
            output_dir=str(tmp_path / "runs"),
            server=server.url,
            server_token=tenant.ingest,
            on_note=notes.append,
        ).start()
        time.sleep(0.5)
        server.kill()  # mid-run: intervals keep coming, the server is gone
        time.sleep(1.0)
        down_at = len(lines_of(tracker.run_log))
        server.start()  # same database, same port
        time.sleep(0.3)
        tracker.stop()
        records = lines_of(tracker.run_log)
        assert len(records) > down_at > 0
        run = server_run(server.url, tenant.read, tracker.run_id)
        assert [i["seq"] for i in run["intervals"]] == [r["seq"] for r in records] == list(range(len(records)))
        assert run["co2e_kg"] == pytest.approx(sum(r["co2e_kg"] for r in records), rel=1e-12)
        assert run["status"] == "finished"  # the summary arrived too
        assert acknowledged(tracker.run_log) == os.path.getsize(tracker.run_log)
        assert not summary_path(tracker.run_log).exists()
        assert any("wait in the run log" in note for note in notes)
    finally:
        server.kill()


def test_upload_later_skips_what_the_server_has(database_url, tmp_path, monkeypatch, capsys):
    tenant = seed(database_url)
    with carbon.track(region="FR", interval_s=0.1, output_dir=str(tmp_path / "runs")) as tracker:
        time.sleep(0.3)
    log = tracker.run_log
    count = len(lines_of(log))
    monkeypatch.setenv("CARBON_SERVER_TOKEN", tenant.ingest)
    with ServerProcess(database_url) as server:
        assert main(["upload", str(tmp_path / "runs"), "--server", server.url]) == 0
        assert f"{count} stored, 0 already there" in capsys.readouterr().out
        assert main(["upload", log, "--server", server.url]) == 0
        assert f"0 stored, {count} already there" in capsys.readouterr().out
        # Without the local offset file the server's own state is asked, and nothing is re-sent.
        Path(f"{log}.uploaded").unlink()
        assert main(["upload", log, "--server", server.url]) == 0
        assert f"0 stored, {count} already there" in capsys.readouterr().out
        assert server_run(server.url, tenant.read, tracker.run_id)["records"] == count


def test_upload_refused_without_token_or_server(tmp_path, monkeypatch, capsys):
    log = tmp_path / "x.jsonl"
    log.write_text("")
    monkeypatch.delenv("CARBON_SERVER_TOKEN", raising=False)
    monkeypatch.delenv("CARBON_SERVER_URL", raising=False)
    assert main(["upload", str(log), "--server", "http://127.0.0.1:9"]) == 2
    assert "CARBON_SERVER_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("CARBON_SERVER_TOKEN", "carbon_x")
    assert main(["upload", str(log), "--server", "ftp://x"]) == 2
    assert "http(s)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="run log"):
        carbon.Tracker(region="FR", write=False, server="http://127.0.0.1:9", server_token="carbon_x")


def test_two_machines_one_project(database_url, tmp_path):
    """The README's story: a laptop run and a cluster's batch log land in one project."""
    pytest.importorskip("pandas")
    tenant = seed(database_url)
    with ServerProcess(database_url) as server:
        env = {**os.environ, "CARBON_SERVER_TOKEN": tenant.ingest}
        laptop = subprocess.run(
            [sys.executable, "-m", "carbon", "run", "--region", "FR", "--interval", "0.1", "--experiment", "laptop"]
            + ["--output", str(tmp_path / "runs"), "--server", server.url, "--", sys.executable, "-c"]
            + ["import time; time.sleep(0.5)"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert laptop.returncode == 0, laptop.stderr
        cluster = subprocess.run(
            [sys.executable, "-m", "carbon", "batch", str(FIXTURES / "sacct_excerpt.txt"), "--region", "FR"]
            + ["--out", str(tmp_path / "results.csv"), "--server", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cluster.returncode == 0, cluster.stderr
        assert "uploaded to" in cluster.stdout
        # The same results uploaded again from the file are all there already.
        again = subprocess.run(
            [sys.executable, "-m", "carbon", "upload", str(tmp_path / "results.csv"), "--server", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0 and " 0 stored" in again.stdout, again.stdout + again.stderr

        import pandas as pd

        results = pd.read_csv(tmp_path / "results.csv")
        runs = lines_of(next((tmp_path / "runs").glob("*.jsonl")))
        totals = requests.get(f"{server.url}/v1/projects/ml/totals", headers=bearer(tenant.read), timeout=10).json()
        by_kind = {row["kind"]: row for row in totals["totals"]}
        assert by_kind["run"]["count"] == 1 and by_kind["run"]["records"] == len(runs)
        assert by_kind["run"]["co2e_kg"] == pytest.approx(sum(r["co2e_kg"] for r in runs), rel=1e-9)
        assert by_kind["batch"]["count"] == len(results)
        assert by_kind["batch"]["co2e_kg"] == pytest.approx(results["co2e_kg"].sum(), rel=1e-9)


def test_several_workers_on_postgresql_count_each_record_once(request, _templates, tmp_path):
    """Four workers, eight clients sending the same run log at once: every interval stored once, the
    run counted once, the totals exact (races between workers resolved by the database)."""
    from concurrent.futures import ThreadPoolExecutor

    from fixtures.server_db import fresh_database

    url = fresh_database("postgresql", request, _templates, tmp_path)
    tenant = seed(url)
    records = [
        {
            "run_id": "shared-run",
            "seq": seq,
            "start": f"2026-11-01T{seq // 60:02d}:{seq % 60:02d}:00Z",
            "end": f"2026-11-01T{seq // 60:02d}:{seq % 60:02d}:10Z",
            "duration_s": 10,
            "energy_kwh": 0.5,
            "co2e_kg": 0.025,  # 0.5 kWh x 50 g/kWh
            "intensity_basis": "lifecycle",
        }
        for seq in range(200)
    ]
    body = "\n".join(json.dumps(r) for r in records).encode()
    headers = {**bearer(tenant.ingest), "content-type": "application/x-ndjson"}
    with ServerProcess(url, workers=4) as server:

        def send(_):
            return requests.post(f"{server.url}/v1/ingest/runs", data=body, headers=headers, timeout=60).json()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(8)))
        assert sum(a["accepted"] for a in answers) == 200
        assert sum(a["duplicates"] for a in answers) == 7 * 200
        totals = requests.get(f"{server.url}/v1/projects/ml/totals", headers=bearer(tenant.read), timeout=10).json()
    (row,) = totals["totals"]
    assert (row["count"], row["records"]) == (1, 200)
    assert row["co2e_kg"] == pytest.approx(200 * 0.025)


def test_refused_token_never_fails_the_run(tmp_path):
    """A revoked or mistyped token: the server answers 401, the uploader says so once and stops,
    the run finishes normally and its log keeps every interval for a later `carbon upload`."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    from carbon.server.db import make_engine, migrate

    migrate(make_engine(url))
    notes: list[str] = []
    with ServerProcess(url) as server:
        started = time.monotonic()
        with carbon.track(
            region="FR",
            interval_s=0.1,
            output_dir=str(tmp_path / "runs"),
            server=server.url,
            server_token="carbon_not-a-real-token",
            on_note=notes.append,
        ) as tracker:
            time.sleep(0.3)
        assert time.monotonic() - started < 8  # no waiting out the flush timeout on a refusal
    assert len(lines_of(tracker.run_log)) >= 3
    assert acknowledged(tracker.run_log) == 0
    assert summary_path(tracker.run_log).exists()  # kept for `carbon upload`
    # The refusal's own note, said once (the closing note names the run log, whose path holds this
    # test's name and the run's start time, so it may hold "refused" and "401" too).
    assert sum(note.startswith("upload to ") and " refused (" in note and "401" in note for note in notes) == 1, notes
