"""The tracker's own cost while a program runs: its threads' CPU seconds as a share of one core at a
1 s interval, and the peak resident memory it adds.

CPU: the tracker's threads (sampler, and the intensity prefetcher when live sources are set) are
found by name and their on-CPU time read from /proc/self/task/<tid>/schedstat (nanoseconds), over
`--seconds` of a sleeping program, beside a thread that only wakes once a second (the floor any
sampler pays on this machine). Memory: peak RSS (ru_maxrss) of a process that sleeps with a
tracker running, against one that sleeps without, both in fresh interpreters in the same run.
With codecarbon installed, its tracker is measured the same way beside ours.
Aims: under 0.05 % of a core; under 25 MB added.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, os, resource, sys, threading, time
kind, seconds, folder = sys.argv[1], float(sys.argv[2]), sys.argv[3]

def thread_cpu_s(names):
    total = 0.0
    for thread in threading.enumerate():
        if thread is threading.main_thread() or not any(n in thread.name for n in names):
            continue
        try:
            with open(f"/proc/self/task/{thread.native_id}/schedstat") as handle:
                total += int(handle.read().split()[0]) / 1e9
        except OSError:
            pass
    return total

tracker, names = None, ()
if kind == "carbon":
    import carbon
    tracker = carbon.track(region="FR", interval_s=1.0, output_dir=folder, detect=False, on_note=lambda _: None).start()
    names = ("carbon-",)
elif kind == "idle-wake":  # the floor: a thread that wakes once a second and does nothing
    stop = threading.Event()
    tracker = type("Idle", (), {"stop": staticmethod(stop.set)})()
    threading.Thread(target=lambda: [None for _ in iter(lambda: stop.wait(1.0), True)], name="idle-wake",
                     daemon=True).start()
    names = ("idle-wake",)
elif kind == "codecarbon":
    from codecarbon import EmissionsTracker
    tracker = EmissionsTracker(measure_power_secs=1, output_dir=folder, save_to_file=False, log_level="error")
    tracker.start()
    names = ("",)
time.sleep(1.5)  # let start-up work finish: the steady state is what is measured
before = thread_cpu_s(names)
started = time.monotonic()
time.sleep(seconds)
cpu_s = thread_cpu_s(names) - before
wall_s = time.monotonic() - started
if tracker is not None:
    tracker.stop()
print(json.dumps({"cpu_s": cpu_s, "wall_s": wall_s, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _run(kind: str, seconds: float, folder: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(seconds), folder], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    kinds = ["none", "idle-wake", "carbon"]
    if subprocess.run([sys.executable, "-c", "import codecarbon"], capture_output=True, check=False).returncode == 0:
        kinds.append("codecarbon")
    with tempfile.TemporaryDirectory() as folder:
        results = {kind: _run(kind, args.seconds, folder) for kind in kinds}
    base_rss_mb = results["none"]["maxrss_kb"] / 1024
    print(f"{'tracker':<12} {'CPU s':>9} {'wall s':>7} {'% of a core':>12} {'peak RSS MB':>12} {'RSS added MB':>13}")
    for kind, r in results.items():
        share = 100.0 * r["cpu_s"] / r["wall_s"]
        rss = r["maxrss_kb"] / 1024
        print(
            f"{kind:<12} {r['cpu_s']:>9.4f} {r['wall_s']:>7.1f} {share:>12.4f} {rss:>12.1f} {rss - base_rss_mb:>13.1f}"
        )
    ours = results["carbon"]
    share = 100.0 * ours["cpu_s"] / ours["wall_s"]
    added = ours["maxrss_kb"] / 1024 - base_rss_mb
    print(
        f"carbon tracker CPU: {share:.4f} % of a core = {share / 0.05:.2f} of the 0.05 % aim; "
        f"RSS added {added:.1f} MB = {added / 25:.2f} of the 25 MB aim"
    )
    if "codecarbon" not in results:
        print("codecarbon not installed: `pip install codecarbon` to print its figures beside ours")


if __name__ == "__main__":
    main()
