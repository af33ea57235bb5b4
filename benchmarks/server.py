"""The service on loopback, one worker: estimate requests per second with p50/p99, and interval
records ingested per second. Bounded: a few seconds per phase.

Starts `carbon serve` (uvicorn, one worker, SQLite in a temporary folder) as a child process and
drives it from this process with keep-alive HTTP/1.1 connections on threads. The load generator
shares the machine with the server, so on 2 cores the figures are a floor.

Aims (2 cores): POST /v1/estimate >= 1,000 requests/s at p99 <= 20 ms on one worker (the Boavizta
API measured 35-42 requests/s on the same kind of machine); ingest >= 20,000 records/s.

    python benchmarks/server.py [--seconds 5] [--connections 4] [--records 50000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ESTIMATE_AIM_RPS, ESTIMATE_AIM_P99_MS, INGEST_AIM_RPS = 1000.0, 20.0, 20000.0
ESTIMATE_BODY = json.dumps(
    {"region": "aws:us-east-1", "instance_type": "m5.xlarge", "duration": "1h", "cpu_util": 0.5}
).encode()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(database_url: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "carbon", "serve", "--port", str(port), "--database-url", database_url]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/v1/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("carbon serve did not start")


def admin(database_url: str, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "carbon", "serve", "--database-url", database_url, "admin", *argv],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def load(port: int, seconds: float, connections: int, method: str, path: str, body: bytes, headers: dict):
    """Closed-loop load: each connection sends its next request as soon as the last is answered."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    stop_at = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = latencies[slot]
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                failures[slot] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    merged = sorted(x for part in latencies for x in part)
    return len(merged) / elapsed, merged, sum(failures)


def server_cpu_s(process: subprocess.Popen) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    import psutil

    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def interval_lines(runs: int, per_run: int) -> list[bytes]:
    """Run-log lines shaped like the tracker's (carbon.run/1), `per_run` intervals for each of `runs` runs."""
    template = {
        "schema": "carbon.run/1",
        "energy_kwh": 2.3e-05,
        "energy_kwh_low": 1.7e-05,
        "energy_kwh_high": 6.0e-05,
        "co2e_kg": 1.0e-06,
        "co2e_kg_low": 3.6e-07,
        "co2e_kg_high": 2.7e-06,
        "intensity_g_per_kwh": 44.18,
        "intensity_g_per_kwh_low": 20.932,
        "intensity_g_per_kwh_high": 45.731,
        "intensity_basis": "lifecycle",
        "pue": 1.0,
        "pue_low": 1.0,
        "pue_high": 1.56,
        "location": {"provider": None, "region": "FR", "zone": "FR", "country": "FR"},
        "breakdown": {
            "cpu_kwh": 9.6e-06,
            "gpu_kwh": 0.0,
            "ram_kwh": 1.3e-05,
            "other_kwh": 0.0,
            "cpu_method": "modelled",
        },
        "hardware": {"vcpus": 2.0, "memory_gb": 25.3, "gpu_count": 0},
        "duration_s": 10.0,
        "task": None,
        "mode": "machine",
        "attribution": None,
        "project": None,
        "experiment": "bench",
        "region": "FR",
        "intensity_granularity": "year",
        "intensity_detail": "zone FR, annual mean",
    }
    lines = []
    for run in range(runs):
        for seq in range(per_run):
            second = seq * 10
            record = dict(
                template,
                run_id=f"bench-{run:06d}",
                seq=seq,
                start=f"2026-11-{1 + run % 28:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000Z",
                end=f"2026-11-{1 + run % 28:02d}T{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60 + 9:02d}.000000Z",
            )
            lines.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    return lines


def ingest(port: int, token: str, lines: list[bytes], batch: int, connections: int) -> tuple[float, int]:
    bodies = [b"".join(lines[i : i + batch]) for i in range(0, len(lines), batch)]
    queue = list(reversed(bodies))
    lock = threading.Lock()
    accepted = [0]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            connection.request("POST", "/v1/ingest/runs", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                raise SystemExit(f"ingest failed: {response.status} {answer}")
            with lock:
                accepted[0] += answer["accepted"]

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted[0] / (time.perf_counter() - started), accepted[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="estimate load duration (default 5)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent keep-alive connections (default 4)")
    parser.add_argument("--records", type=int, default=50_000, help="interval records to ingest (default 50,000)")
    parser.add_argument("--batch", type=int, default=1000, help="records per ingest request (default 1000)")
    parser.add_argument("--database-url", help="database for the ingest phase (default: SQLite in a temp folder)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="carbon-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    admin(url, "create-org", "bench")
    admin(url, "create-project", "bench", "ml")
    token = admin(url, "create-token", "bench", "--project", "ml", "--scopes", "ingest")
    port = free_port()
    server = start_server(url, port)
    try:
        headers = {"Content-Type": "application/json"}
        load(port, 1.0, args.connections, "POST", "/v1/estimate", ESTIMATE_BODY, headers)  # warm-up
        cpu_before = server_cpu_s(server)
        rate, latencies, failures = load(
            port, args.seconds, args.connections, "POST", "/v1/estimate", ESTIMATE_BODY, headers
        )
        estimate_cpu_s = (server_cpu_s(server) - cpu_before) / max(1, len(latencies))
        p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
        lines = interval_lines(max(1, args.records // 500), 500)[: args.records]
        cpu_before = server_cpu_s(server)
        ingest_rate, accepted = ingest(port, token, lines, args.batch, 2)
        ingest_cpu_s = (server_cpu_s(server) - cpu_before) / max(1, accepted)
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; one uvicorn worker; {url.split(':')[0]}"
    )
    print(f"{'measure':<34} {'measured':>12} {'aim':>12}")
    print(f"{'POST /v1/estimate, requests/s':<34} {rate:>12,.0f} {'>= ' + format(ESTIMATE_AIM_RPS, ',.0f'):>12}")
    print(f"{'POST /v1/estimate, p50 ms':<34} {p50:>12.2f} {'':>12}")
    print(f"{'POST /v1/estimate, p99 ms':<34} {p99:>12.2f} {'<= ' + format(ESTIMATE_AIM_P99_MS, 'g'):>12}")
    print(f"{'  (requests, non-200)':<34} {len(latencies):>12,} {failures:>12}")
    print(
        f"{'  server CPU per request, ms':<34} {estimate_cpu_s * 1000:>12.3f} "
        f"{'(' + format(1 / estimate_cpu_s, ',.0f') + '/s':>11})"
    )
    print(f"{'ingest, interval records/s':<34} {ingest_rate:>12,.0f} {'>= ' + format(INGEST_AIM_RPS, ',.0f'):>12}")
    print(f"{'  (records stored)':<34} {accepted:>12,}")
    print(
        f"{'  server CPU per record, us':<34} {ingest_cpu_s * 1e6:>12.1f} "
        f"{'(' + format(1 / ingest_cpu_s, ',.0f') + '/s':>11})"
    )
    print("(figures in brackets: the rate one dedicated core would give at the server CPU measured)")
    print(
        f"estimate median over the run: {statistics.median(latencies) * 1000:.2f} ms with {args.connections} connections"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
