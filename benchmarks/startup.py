"""Tracker start-up: how long `carbon.track(...).start()` keeps the caller waiting, and what importing it adds.

Each case runs in a fresh interpreter, N times interleaved (machine noise hits all alike); the
figures are medians. Baseline in the same run: a bare interpreter. Where codecarbon is installed,
its `EmissionsTracker().start()` is timed the same way beside ours. Aim: start under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

OURS = """
import json, sys, time
t0 = time.perf_counter()
import carbon
tracker = carbon.track(region="FR", output_dir=sys.argv[1], detect=False, on_note=lambda _: None)
t1 = time.perf_counter()
tracker.start()
t2 = time.perf_counter()
tracker.stop()
print(json.dumps({"import_and_build_ms": (t1 - t0) * 1e3, "start_ms": (t2 - t1) * 1e3}))
"""
PEER = """
import json, sys, time
t0 = time.perf_counter()
from codecarbon import EmissionsTracker
tracker = EmissionsTracker(output_dir=sys.argv[1], save_to_file=False, log_level="error")
t1 = time.perf_counter()
tracker.start()
t2 = time.perf_counter()
tracker.stop()
print(json.dumps({"import_and_build_ms": (t1 - t0) * 1e3, "start_ms": (t2 - t1) * 1e3}))
"""


def _peer_installed() -> bool:
    return subprocess.run([sys.executable, "-c", "import codecarbon"], capture_output=True, check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cases = {"carbon": OURS}
    if _peer_installed():
        cases["codecarbon"] = PEER
    results: dict[str, list[dict]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.runs):
            for name, code in cases.items():
                out = subprocess.run([sys.executable, "-c", code, folder], capture_output=True, text=True, check=True)
                results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'tracker':<12} {'import+build ms':>16} {'start() ms':>11}")
    medians = {}
    for name, rows in results.items():
        build = statistics.median(r["import_and_build_ms"] for r in rows)
        start = statistics.median(r["start_ms"] for r in rows)
        medians[name] = start
        print(f"{name:<12} {build:>16.1f} {start:>11.2f}")
    print(f"carbon start() against the 50 ms aim: {medians['carbon'] / 50.0:.2f} of the budget")
    if "codecarbon" in medians:
        print(f"ratio carbon / codecarbon start(): {medians['carbon'] / medians['codecarbon']:.3f}")
    else:
        print("codecarbon not installed: `pip install codecarbon` to print its figures beside ours")


if __name__ == "__main__":
    main()
