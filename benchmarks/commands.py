"""What a user waits for: whole commands timed from process start to exit, beside their aims.

carbon's bytecode is compiled first, as an installed copy has it. Commands start through the
`carbon` script installed beside the interpreter, as a user types them (`python -m carbon` where
there is none). In an editable install (a checkout), the setuptools finder is imported at every
interpreter start (~10 ms), and this interpreter's site-packages may hold other start-up hooks
(`.pth` files); `--clean-venv DIR` measures start-up a second time in a venv of its own where
carbon is installed by `pip install .`, as a user has it.

Every case runs in fresh processes, interleaved with its baseline (machine noise hits both
alike), `--repeat` times; the median is printed with the range. Where codecarbon is importable
by `--peer-python` (default: this interpreter), its figures are printed beside ours.

    python benchmarks/commands.py                 # start-up, run, estimate, detect, tracker CPU
    python benchmarks/commands.py --batch-jobs 1000000   # also carbon batch end to end (sacct, Parquet)
    python benchmarks/commands.py --clean-venv /tmp/carbon-bench-venv --only commands detect

Figures (aims from the performance issue, 2-core machine):
- `import carbon` above a bare interpreter (keep it small; CodeCarbon's import for scale);
- `carbon run -- true` above bare `true` (aim <= 60 ms);
- `carbon estimate ... --format json`, whole command (aim <= 80 ms);
- `carbon detect` off the cloud with DMI present: its own `elapsed_s` (aim <= 15 ms);
- the tracker's CPU at a 1 s interval, as whole-process CPU over a window in which the main thread
  sleeps, minus a process that only sleeps (aim <= 0.025 % of a core), CodeCarbon measured the
  same way, with the peak RSS each adds, and the floors any sampler thread pays (one that only
  wakes each second; one that also reads /proc/stat) (`benchmarks/tracker_cpu.py` prints this
  part alone);
- `carbon batch` on a generated 1 M-job sacct log and the same jobs as Parquet, whole command
  including import and writing Parquet: jobs/s and peak resident memory (aims >= 300 k jobs/s and
  <= 700 MB from sacct; >= 1 M jobs/s from Parquet).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SLEEPER = r"""
import resource, sys, time
kind, seconds, folder = sys.argv[1], float(sys.argv[2]), sys.argv[3]
tracker = None
if kind == "carbon":
    import carbon
    tracker = carbon.track(region="FR", interval_s=1.0, output_dir=folder, detect=False, on_note=lambda _: None).start()
elif kind in ("wake", "wake-stat"):  # the floors: what any sampler thread waking each second costs
    import os, threading
    def wake(read_stat):
        stop = threading.Lock(); stop.acquire()  # never released: each acquire is one timed sleep
        fd = os.open("/proc/stat", os.O_RDONLY) if read_stat else None
        while not stop.acquire(timeout=1.0):
            if fd is not None:
                os.pread(fd, 8192, 0)
    threading.Thread(target=wake, args=(kind == "wake-stat",), daemon=True).start()
elif kind == "codecarbon":
    from codecarbon import OfflineEmissionsTracker
    tracker = OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=1, output_dir=folder,
                                      save_to_file=False, log_level="error")
    tracker.start()
time.sleep(2.0)  # start-up work done: the steady state is what is measured
before = time.process_time()
started = time.monotonic()
time.sleep(seconds)
cpu_s = time.process_time() - before
wall_s = time.monotonic() - started
if tracker is not None:
    tracker.stop()
print(cpu_s, wall_s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _wall_s(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def _stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _row(name: str, values: list[float], unit: str, aim: str, scale: float = 1e3) -> None:
    median, low, high = _stats(values)
    print(f"{name:<52} {median * scale:>9.1f} {unit:<5} ({low * scale:.1f}-{high * scale:.1f})  aim {aim}")


def _peer_ok(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import codecarbon"], capture_output=True, check=False)
    return probe.returncode == 0


def _interleaved(cases: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, command in cases.items():
            samples[name].append(_wall_s(command, env))
    return samples


def compile_bytecode(python: str = sys.executable) -> None:
    """Write the bytecode of carbon's packages, as an installed copy has it: a checkout run under
    PYTHONDONTWRITEBYTECODE has none, and every start would compile ~40 modules (~30 ms)."""
    script = (
        "import compileall, os, carbon, carbon.providers as p, carbon.intensity_data as d\n"
        "for m in (carbon, p, d): compileall.compile_dir(os.path.dirname(m.__file__), quiet=2)"
    )
    subprocess.run([python, "-c", script], check=True, cwd=tempfile.gettempdir())  # not this checkout's carbon/


def carbon_command(python: str) -> list[str]:
    """How a user starts carbon with this interpreter: the `carbon` script pip installed beside it
    (what `carbon run ...` in a shell runs), else `python -m carbon` (~3 ms of runpy more)."""
    script = Path(python).parent / "carbon"
    return [str(script)] if script.exists() else [python, "-m", "carbon"]


def startup_and_commands(repeat: int, peer_python: str | None, env: dict[str, str], python: str) -> None:
    true = shutil.which("true") or "/bin/true"
    base = getattr(sys, "_base_executable", python) if python == sys.executable else python
    carbon = carbon_command(python)
    cases = {
        "true": [true],
        "python -c pass": [python, "-c", "pass"],
        "base python -c pass": [base, "-c", "pass"],
        "python -c 'import carbon'": [python, "-c", "import carbon"],
        "carbon run -- true": [*carbon, "run", "--", true],
        "carbon estimate m5.xlarge 1h --format json": [
            *carbon,
            "estimate",
            "--region",
            "aws:us-east-1",
            "--instance-type",
            "m5.xlarge",
            "--duration",
            "1h",
            "--cpu-util",
            "0.5",
            "--format",
            "json",
        ],
    }
    if peer_python:
        cases["peer: python -c pass"] = [peer_python, "-c", "pass"]
        cases["peer: import codecarbon"] = [peer_python, "-c", "import codecarbon"]
    samples = _interleaved(cases, env, repeat)
    bare_python = statistics.median(samples["python -c pass"])
    bare_true = statistics.median(samples["true"])
    print(f"interpreter {python}; carbon started as: {' '.join(carbon)}")
    print(f"{'whole command (median over ' + str(repeat) + ' runs, range)':<52} {'figure':>9}")
    _row("python -c pass (the interpreter floor)", samples["python -c pass"], "ms", "-")
    if base != python:  # an editable install's finder is imported at every start; `pip install .` has none
        _row(
            "  of which the editable install's finder (venv - base)",
            [v - statistics.median(samples["base python -c pass"]) for v in samples["python -c pass"]],
            "ms",
            "-",
        )
    _row(
        "import carbon, above bare python",
        [v - bare_python for v in samples["python -c 'import carbon'"]],
        "ms",
        "keep (was +6 ms)",
    )
    if peer_python:
        peer_bare = statistics.median(samples["peer: python -c pass"])
        _row(
            "  peer: import codecarbon, above bare python",
            [v - peer_bare for v in samples["peer: import codecarbon"]],
            "ms",
            "-",
        )
    _row(
        "carbon run -- true, above bare true", [v - bare_true for v in samples["carbon run -- true"]], "ms", "<= 60 ms"
    )
    _row(
        "carbon estimate ... --format json, whole command",
        samples["carbon estimate m5.xlarge 1h --format json"],
        "ms",
        "<= 80 ms",
    )


def clean_install(folder: Path) -> str:
    """A venv of its own with carbon installed as a user installs it (`pip install .`, no editable
    finder, no site-packages of this interpreter and their .pth files); reused when it exists.
    Returns its interpreter. Needs the package index (or a wheel cache) for carbon's dependencies."""
    python = folder / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # This checkout's code over whatever an earlier run installed, then its dependencies.
    for command in ([*pip, "--force-reinstall", "--no-deps", str(ROOT)], [*pip, str(ROOT)]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"installing carbon in {folder} failed: {done.stderr.strip()[-500:]}")
    compile_bytecode(str(python))
    return str(python)


def detect_elapsed(repeat: int, env: dict[str, str], python: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        dmi = Path(folder) / "dmi"
        dmi.mkdir()
        for name, value in {
            "sys_vendor": "LENOVO",
            "product_name": "20XW0055GE",
            "product_version": "ThinkPad X1",
            "chassis_asset_tag": "No Asset Information",
            "bios_vendor": "LENOVO",
        }.items():
            (dmi / name).write_text(value + "\n")
        child_env = dict(env, CARBON_DMI_ROOT=str(dmi))
        values = []
        for _ in range(repeat):
            out = subprocess.run(
                [*carbon_command(python), "detect", "--format", "json"],
                capture_output=True,
                text=True,
                check=False,
                env=child_env,
            )
            try:
                values.append(float(json.loads(out.stdout)["elapsed_s"]))
            except (ValueError, KeyError):
                print(f"carbon detect failed: {out.stderr.strip()[:200]}")
                return
    _row("carbon detect off the cloud, DMI present (elapsed_s)", values, "ms", "<= 15 ms")


def tracker_cpu(seconds: float, repeat: int, peer_python: str | None) -> None:
    """Whole-process CPU over a window in which the main thread sleeps, minus that of a process that
    only sleeps in the same interpreter; peak RSS beside it. The processes of one round run at once
    (they sleep: they do not compete for the cores), rounds `repeat` times for a median and range."""
    kinds: list[tuple[str, str]] = [("none", sys.executable), ("carbon", sys.executable)]
    if os.path.exists("/proc/stat"):
        kinds += [("wake", sys.executable), ("wake-stat", sys.executable)]
    if peer_python:
        kinds += [("none-peer", peer_python), ("codecarbon", peer_python)]
    shares: dict[str, list[float]] = {kind: [] for kind, _ in kinds}
    rss_mb: dict[str, list[float]] = {kind: [] for kind, _ in kinds}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            running = {
                kind: subprocess.Popen(
                    [python, "-c", SLEEPER, kind.replace("-peer", ""), str(seconds), folder],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for kind, python in kinds
            }
            for kind, child in running.items():
                out, err = child.communicate()
                if child.returncode != 0:
                    print(f"{kind}: failed: {err.strip().splitlines()[-1:]}")
                    continue
                cpu_s, wall_s, maxrss_kb = (float(x) for x in out.split()[-3:])
                shares[kind].append(100.0 * cpu_s / wall_s)
                rss_mb[kind].append(maxrss_kb / 1024)
    for kind, floor, label, aim in (
        ("carbon", "none", "tracker CPU at 1 s interval, % of a core", "aim <= 0.025 %"),
        ("codecarbon", "none-peer", "  peer: CodeCarbon tracker, % of a core", ""),
        ("wake", "none", "  floor: a thread that only wakes each second", ""),
        ("wake-stat", "none", "  floor: the same, reading /proc/stat at each wake", ""),
    ):
        if not shares.get(kind) or not shares.get(floor):
            continue
        values = [share - statistics.median(shares[floor]) for share in shares[kind]]
        median, low, high = _stats(values)
        added = statistics.median(rss_mb[kind]) - statistics.median(rss_mb[floor])
        print(
            f"{label:<52} {median:>9.4f} %     ({low:.4f}-{high:.4f}; sleeper {statistics.median(shares[floor]):.4f}), "
            f"RSS +{added:.0f} MB  {aim}"
        )


def batch_end_to_end(jobs: int, repeat: int, env: dict[str, str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import batch as batch_bench  # the batch benchmark's generator: the same jobs as its in-process figures

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        regions, _ = batch_bench._regions()
        # Written in a child process, as batch.py does, so that building the strings does not
        # fragment this process's heap; sample 0: no per-job loop file.
        writer = (
            "import sys; sys.path.insert(0, sys.argv[1]); import batch; "
            "batch.write_logs(int(sys.argv[2]), sys.argv[4].split(','), sys.argv[3], 0, True, None)"
        )
        subprocess.run(
            [sys.executable, "-c", writer, str(Path(__file__).resolve().parent), str(jobs), folder, ",".join(regions)],
            check=True,
            env=env,
        )
        for label, path, aim in (
            ("sacct text", base / "jobs.txt", ">= 300 k jobs/s, <= 700 MB"),
            ("Parquet", base / "jobs.parquet", ">= 1 M jobs/s"),
        ):
            rates, peaks = [], []
            for attempt in range(repeat):
                out = base / f"out-{attempt}.parquet"
                measure = _measure_child(
                    [*carbon_command(sys.executable), "batch", str(path), "--region", "FR", "--out", str(out), "-q"],
                    env,
                )
                if measure is None:
                    return
                seconds, peak_mb = measure
                rates.append(jobs / seconds)
                peaks.append(peak_mb)
                out.unlink(missing_ok=True)
            median, low, high = _stats(rates)
            print(
                f"{'carbon batch ' + label + f' {jobs:,} jobs, whole command':<52} {median / 1e3:>9.0f} k/s   "
                f"({low / 1e3:.0f}-{high / 1e3:.0f}), peak RSS {statistics.median(peaks):.0f} MB  aim {aim}"
            )


def _measure_child(command: list[str], env: dict[str, str]) -> tuple[float, float] | None:
    """Wall seconds and peak RSS (MB) of one child; each child is measured in its own grandchild
    process so that ru_maxrss of RUSAGE_CHILDREN is that command's alone."""
    probe = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
        "s = time.perf_counter() - t\n"
        "print(json.dumps({'rc': r.returncode, 's': s, 'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN)"
        ".ru_maxrss / 1024, 'err': r.stderr[-300:]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, env=env, check=False)
    result = json.loads(out.stdout)
    if result["rc"] not in (0,):
        print(f"{' '.join(command[:3])}: exit {result['rc']}: {result['err'].strip()}")
        return None
    return float(result["s"]), float(result["rss_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="runs per case (median and range printed)")
    parser.add_argument("--tracker-seconds", type=float, default=10.0, help="window of the tracker CPU measure")
    parser.add_argument("--tracker-repeat", type=int, default=3, help="rounds of the tracker CPU measure")
    parser.add_argument("--batch-jobs", type=int, default=0, help="also time carbon batch on this many jobs")
    parser.add_argument("--batch-repeat", type=int, default=3)
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter in which codecarbon is installed (for the peer's figures)",
    )
    parser.add_argument(
        "--clean-venv",
        type=Path,
        help="also measure start-up in this venv (created if missing) with carbon installed by `pip install .`, "
        "as a user has it: no editable finder, none of this interpreter's site-packages",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("commands", "detect", "tracker", "batch"),
        default=("commands", "detect", "tracker", "batch"),
        help="run these parts only (batch needs --batch-jobs too)",
    )
    args = parser.parse_args()
    peer = args.peer_python if _peer_ok(args.peer_python) else None
    if peer is None:
        print("codecarbon not importable: pass --peer-python /path/to/venv/bin/python to print its figures")
    compile_bytecode()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # commands start outside the checkout: `import carbon` finds the installed copy
        env = dict(os.environ, CARBON_REGION="FR", CARBON_OUTPUT_DIR=folder)
        pythons = [sys.executable] + ([clean_install(args.clean_venv)] if args.clean_venv else [])
        for python in pythons:
            if "commands" in args.only:
                startup_and_commands(args.repeat, peer if python == sys.executable else None, env, python)
            if "detect" in args.only:
                detect_elapsed(args.repeat, env, python)
        if "tracker" in args.only:
            tracker_cpu(args.tracker_seconds, args.tracker_repeat, peer)
        if args.batch_jobs and "batch" in args.only:
            batch_end_to_end(args.batch_jobs, args.batch_repeat, env)


if __name__ == "__main__":
    main()
