"""Dashboard page time at 100 k runs: the organisation page, served by uvicorn on loopback.

Seeds one organisation with bulk inserts (Core `executemany` for the tree, runs, batch jobs and
the daily rollups they imply; one INSERT ... SELECT per chunk of runs for their interval records,
generated inside the database), then starts `carbon serve`'s app with uvicorn on 127.0.0.1 and
times GET /dashboard/ with an organisation token over HTTP (a fresh connection per request).
Prints the median and p99 beside the 200 ms aim, the page's rollup rows and what was seeded.

The interval records (the issue asks 10 M) are seeded until `--intervals` or `--seed-budget-s`,
whichever comes first; the figure printed says how many were reached. The organisation page
never reads them (its figures come from the rollups), but they make the database the size a
real one would be.

    python benchmarks/dashboard.py                       # 100 k runs, up to 10 M intervals in 90 s
    python benchmarks/dashboard.py --runs 20000 --intervals 0 --requests 50   # quick look
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, text

from carbon.server.auth import hash_secret, new_secret
from carbon.server.db import make_engine, migrate
from carbon.server.models import (
    ApiToken,
    BatchImport,
    BatchJob,
    DailyRollup,
    Experiment,
    Organisation,
    Project,
    Run,
)

AIM_MS = 200.0
# (region, zone, basis, grid intensity g/kWh, PUE): a few regions of each kind a team uses.
REGIONS = (
    ("aws:us-east-1", "US-VA", "lifecycle", 380.0, 1.15),
    ("aws:eu-west-3", "FR", "lifecycle", 45.0, 1.15),
    ("gcp:europe-west1", "BE", "operational", 110.0, 1.09),
    ("FR", "FR", "lifecycle", 50.0, 1.0),
    ("DE", "DE", "lifecycle", 380.0, 1.0),
)
HARDWARE = ("m5.xlarge", "p3.2xlarge", "c5.4xlarge", "n2-standard-8", "Intel Xeon Gold 6248", "AMD EPYC 7742")
USERS = ("alice", "bob", "carol", "dan", "erin")
ACCOUNTS = ("physics", "biology", "ml")


def seed(
    engine: Engine,
    *,
    runs: int,
    intervals: int,
    budget_s: float,
    projects: int = 20,
    experiments_per_project: int = 5,
    jobs_per_project: int = 1000,
    days: int = 365,
    rng_seed: int = 7,
) -> dict[str, float]:
    """Bulk-insert one organisation's data; returns what was seeded and how long it took."""
    rng = random.Random(rng_seed)
    started = time.perf_counter()
    first_day = date(2026, 12, 1) - timedelta(days=days)
    with engine.begin() as db:
        org_id = db.execute(
            insert(Organisation).values(slug="bench", name="Benchmark org").returning(Organisation.id)
        ).scalar_one()
        secret = new_secret()
        db.execute(
            insert(ApiToken).values(
                organisation_id=org_id, token_hash=hash_secret(secret), prefix=secret[:12], scopes="admin", name="bench"
            )
        )
        project_ids = [
            db.execute(
                insert(Project)
                .values(organisation_id=org_id, slug=f"p{i:02d}", name=f"Project {i:02d}")
                .returning(Project.id)
            ).scalar_one()
            for i in range(projects)
        ]
        experiments = []  # (experiment id, project id, usual region index, usual hardware)
        for project_id in project_ids:
            for j in range(experiments_per_project):
                experiment_id = db.execute(
                    insert(Experiment)
                    .values(organisation_id=org_id, project_id=project_id, name=f"exp-{j}")
                    .returning(Experiment.id)
                ).scalar_one()
                experiments.append((experiment_id, project_id, rng.randrange(len(REGIONS)), rng.choice(HARDWARE)))

        rollups: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * 13)
        per_run = max(0, intervals // runs) if runs else 0
        run_rows = []
        for n in range(runs):
            experiment_id, project_id, usual_region, usual_hardware = rng.choice(experiments)
            region_index = usual_region if rng.random() < 0.9 else rng.randrange(len(REGIONS))
            region, zone, basis, intensity, pue = REGIONS[region_index]
            hardware = usual_hardware if rng.random() < 0.9 else rng.choice(HARDWARE)
            day = first_day + timedelta(days=rng.randrange(days))
            start = datetime(day.year, day.month, day.day, rng.randrange(21), rng.randrange(60), tzinfo=timezone.utc)
            duration_s = rng.uniform(600, 7200)
            it_power_w = rng.uniform(80, 1500)
            cpu_kwh = it_power_w * 0.6 * duration_s / 3.6e6
            gpu_kwh = it_power_w * 0.3 * duration_s / 3.6e6
            ram_kwh = it_power_w * 0.1 * duration_s / 3.6e6
            it_kwh = cpu_kwh + gpu_kwh + ram_kwh
            energy = (it_kwh * pue, it_kwh * pue * 0.7, it_kwh * pue * 1.4)
            co2e = tuple(e * intensity / 1000.0 for e in energy)
            run_rows.append(
                {
                    "organisation_id": org_id,
                    "project_id": project_id,
                    "experiment_id": experiment_id,
                    "run_id": f"run-{n:07d}",
                    "status": "finished",
                    "start": start,
                    "end": start + timedelta(seconds=duration_s),
                    "duration_s": duration_s,
                    "records": per_run,
                    "mode": "machine",
                    "region": region,
                    "zone": zone,
                    "provider": region.split(":")[0] if ":" in region else None,
                    "hardware_name": hardware,
                    "intensity_basis": basis,
                    "energy_kwh": energy[0],
                    "energy_kwh_low": energy[1],
                    "energy_kwh_high": energy[2],
                    "co2e_kg": co2e[0],
                    "co2e_kg_low": co2e[1],
                    "co2e_kg_high": co2e[2],
                    "cpu_kwh": cpu_kwh,
                    "gpu_kwh": gpu_kwh,
                    "ram_kwh": ram_kwh,
                    "other_kwh": 0.0,
                }
            )
            key = (project_id, "run", experiment_id, day, basis, region, hardware, "", "")
            sums = rollups[key]
            for i, value in enumerate((1, per_run, duration_s, *energy, *co2e, cpu_kwh, gpu_kwh, ram_kwh, 0.0)):
                sums[i] += value
        for chunk in range(0, len(run_rows), 20000):
            db.execute(insert(Run), run_rows[chunk : chunk + 20000])

        for project_id in project_ids:
            source = f"sacct-{project_id}.log"
            import_id = db.execute(
                insert(BatchImport)
                .values(organisation_id=org_id, project_id=project_id, source=source, jobs=jobs_per_project)
                .returning(BatchImport.id)
            ).scalar_one()
            job_rows = []
            for k in range(jobs_per_project):
                region, zone, basis, intensity, pue = REGIONS[rng.randrange(len(REGIONS))]
                day = first_day + timedelta(days=rng.randrange(days))
                start = datetime(day.year, day.month, day.day, rng.randrange(21), tzinfo=timezone.utc)
                duration_s = rng.uniform(60, 36000)
                cpu_kwh = rng.uniform(50, 800) * duration_s / 3.6e6
                energy = (cpu_kwh * pue, cpu_kwh * pue * 0.7, cpu_kwh * pue * 1.4)
                co2e = tuple(e * intensity / 1000.0 for e in energy)
                user, account, hardware = rng.choice(USERS), rng.choice(ACCOUNTS), "Intel Xeon Gold 6248"
                job_rows.append(
                    {
                        "organisation_id": org_id,
                        "project_id": project_id,
                        "import_id": import_id,
                        "job_id": f"{k:07d}",
                        "user": user,
                        "account": account,
                        "state": "COMPLETED",
                        "region": region,
                        "zone": zone,
                        "hardware": hardware,
                        "start": start,
                        "end": start + timedelta(seconds=duration_s),
                        "duration_s": duration_s,
                        "intensity_basis": basis,
                        "energy_kwh": energy[0],
                        "energy_kwh_low": energy[1],
                        "energy_kwh_high": energy[2],
                        "co2e_kg": co2e[0],
                        "co2e_kg_low": co2e[1],
                        "co2e_kg_high": co2e[2],
                        "cpu_kwh": cpu_kwh,
                    }
                )
                key = (project_id, "batch", import_id, day, basis, region, hardware, user, account)
                sums = rollups[key]
                for i, value in enumerate((1, 1, duration_s, *energy, *co2e, cpu_kwh, 0.0, 0.0, 0.0)):
                    sums[i] += value
            db.execute(insert(BatchJob), job_rows)

        names = ("project_id", "kind", "group_id", "day", "basis", "region", "hardware", "user", "account")
        from carbon.server.dashboard.queries import SUMMED

        sums_names = ("count", "records", "duration_s", *SUMMED)  # the rollup's sums, in the dashboard's order
        rollup_rows = [
            {"organisation_id": org_id, **dict(zip(names, key)), **dict(zip(sums_names, sums))}
            for key, sums in rollups.items()
        ]
        for chunk in range(0, len(rollup_rows), 20000):
            db.execute(insert(DailyRollup), rollup_rows[chunk : chunk + 20000])
    tree_s = time.perf_counter() - started
    seeded_intervals = _seed_intervals(engine, org_id, per_run, budget_s - tree_s) if per_run else 0
    return {
        "secret": secret,  # type: ignore[dict-item]
        "runs": runs,
        "jobs": projects * jobs_per_project,
        "rollup_rows": len(rollup_rows),
        "intervals": seeded_intervals,
        "seed_s": time.perf_counter() - started,
    }


def _seed_intervals(engine: Engine, org_id: int, per_run: int, budget_s: float) -> int:
    """Each run's intervals generated inside the database (a recursive sequence joined to a chunk
    of runs), each a 1/per_run share of its run, so run totals stay the sums of their intervals."""
    deadline = time.perf_counter() + max(0.0, budget_s)
    with engine.connect() as db:
        ids = [row[0] for row in db.execute(select(Run.id).where(Run.organisation_id == org_id).order_by(Run.id))]
    sqlite = engine.dialect.name == "sqlite"
    at = (
        "datetime(r.start, '+' || CAST(s.n * r.duration_s / :k AS INTEGER) || ' seconds')"
        if sqlite
        else ("r.start + make_interval(secs => s.n * r.duration_s / :k)")
    )
    at_end = at.replace("s.n *", "(s.n + 1) *")
    figures = ", ".join(
        f"r.{name} / :k"
        for name in (
            "energy_kwh",
            "energy_kwh_low",
            "energy_kwh_high",
            "co2e_kg",
            "co2e_kg_low",
            "co2e_kg_high",
            "cpu_kwh",
            "gpu_kwh",
            "ram_kwh",
            "other_kwh",
        )
    )
    statement = text(
        "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < :k) "
        'INSERT INTO interval_records (organisation_id, run_pk, seq, start, "end", duration_s, pue, '
        "intensity_g_per_kwh, intensity_g_per_kwh_low, intensity_g_per_kwh_high, intensity_basis, "
        "intensity_granularity, energy_kwh, energy_kwh_low, energy_kwh_high, co2e_kg, co2e_kg_low, co2e_kg_high, "
        "cpu_kwh, gpu_kwh, ram_kwh, other_kwh) "
        f"SELECT r.organisation_id, r.id, s.n, {at}, {at_end}, r.duration_s / :k, "
        "r.energy_kwh / (r.cpu_kwh + r.gpu_kwh + r.ram_kwh + r.other_kwh), "
        "r.co2e_kg * 1000.0 / r.energy_kwh, r.co2e_kg * 1000.0 / r.energy_kwh, r.co2e_kg * 1000.0 / r.energy_kwh, "
        f"r.intensity_basis, 'year', {figures} "
        "FROM runs r CROSS JOIN s WHERE r.id >= :lo AND r.id <= :hi"
    )
    done = 0
    step = max(1, 200_000 // per_run)
    for chunk in range(0, len(ids), step):
        if time.perf_counter() > deadline:
            break
        part = ids[chunk : chunk + step]
        with engine.begin() as db:
            db.execute(statement, {"k": per_run, "lo": part[0], "hi": part[-1]})
        done += len(part) * per_run
    return done


def analyse(engine: Engine) -> None:
    """Planner statistics after the bulk load, as PostgreSQL's autovacuum gathers them after a
    large ingest (without them it expects a few rows and sorts 68 k on disk)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(database_url: str) -> tuple[str, object]:
    """The service's app under uvicorn on a loopback port, in a thread of this process."""
    import uvicorn

    from carbon.server.app import create_app
    from carbon.server.settings import ServerSettings

    app = create_app(ServerSettings(database_url=database_url, migrate=False))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _one_interval(n: int) -> dict:
    """A carbon.run/1 line for a new run `bench-ingest-n` (what the tracker sends, trimmed)."""
    start = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc) + timedelta(minutes=n)
    return {
        "schema": "carbon.run/1",
        "run_id": f"bench-ingest-{n}",
        "seq": 0,
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
        "duration_s": 60.0,
        "experiment": "exp-0",
        "region": "FR",
        "intensity_basis": "lifecycle",
        "intensity_g_per_kwh": 50.0,
        "energy_kwh": 0.01,
        "energy_kwh_low": 0.008,
        "energy_kwh_high": 0.012,
        "co2e_kg": 0.0005,
        "co2e_kg_low": 0.0004,
        "co2e_kg_high": 0.0006,
        "breakdown": {"cpu_kwh": 0.01, "gpu_kwh": 0.0, "ram_kwh": 0.0, "other_kwh": 0.0},
    }


def time_page(
    url: str, secret: str, requests: int, max_s: float, *, after_ingest: bool
) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per GET of `url`. With `after_ingest`, one interval record is
    ingested (through POST /v1/ingest/runs, not timed) before each GET, so each page reads fresh
    rollup sums: the first view after new data. Without it, the page between ingests.
    The CPU time is this process's (the server runs in a thread of it, the client is light): on a
    machine shared with other work it says what a page costs when the wall time cannot. It
    includes SQLite's work (in process) but not a PostgreSQL server's."""
    import httpx

    times, cpu = [], []
    deadline = time.perf_counter() + max_s
    headers = {"Authorization": f"Bearer {secret}"}
    base = url.split("/dashboard/")[0]
    with httpx.Client(timeout=60) as client:
        client.get(url, headers=headers).raise_for_status()  # templates compiled, bundle tables loaded
        for n in range(requests):
            if after_ingest:
                sent = client.post(f"{base}/v1/ingest/runs?project=p00", json=[_one_interval(n)], headers=headers)
                sent.raise_for_status()
                assert sent.json()["accepted"] == 1, sent.text
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - t0) * 1000.0)
            cpu.append((time.process_time() - c0) * 1000.0)
            response.raise_for_status()
            if time.perf_counter() > deadline:
                break
    return times, cpu


def _p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--intervals", type=int, default=10_000_000, help="interval records to aim for")
    parser.add_argument("--seed-budget-s", type=float, default=90.0, help="stop seeding intervals after this")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        seeded = seed(engine, runs=args.runs, intervals=args.intervals, budget_s=args.seed_budget_s)
        analyse(engine)
        with engine.connect() as db:
            stored = db.execute(select(func.count()).select_from(Run)).scalar_one()
        base, server = serve(url)
        try:
            page = f"{base}/dashboard/"
            cold = time_page(page, seeded["secret"], args.requests // 2, max_s=60.0, after_ingest=True)
            warm = time_page(page, seeded["secret"], args.requests, max_s=30.0, after_ingest=False)
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
        size = f", {Path(folder, 'bench.db').stat().st_size / 1e6:,.0f} MB" if not args.database_url else ""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine    {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min) at the end")
    print(f"database   {engine.dialect.name}{size}")
    print(
        f"seeded     {stored:,} runs, {seeded['jobs']:,} batch jobs, {seeded['intervals']:,} interval records "
        f"(aim {args.intervals:,}), {seeded['rollup_rows']:,} daily rollup rows, in {seeded['seed_s']:.0f} s"
    )
    print("page       GET /dashboard/ (organisation page), loopback HTTP, one uvicorn worker")
    print(f"{'':<36} {'requests':>8} {'median ms':>10} {'p99 ms':>8} {'CPU ms (median)':>16} {'aim ms':>7}")
    for label, (times, cpu) in (("first view after an ingest (cold)", cold), ("between ingests (warm)", warm)):
        print(
            f"{label:<36} {len(times):>8} {statistics.median(times):>10.1f} {_p99(times):>8.1f} "
            f"{statistics.median(cpu):>16.1f} {AIM_MS:>7.0f}"
        )


if __name__ == "__main__":
    sys.exit(main())
