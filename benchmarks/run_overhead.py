"""What `carbon run -- true` adds over running `true` bare: wall time per run, medians, interleaved.

Also shown: a bare interpreter (`python -c pass`), the floor any Python wrapper pays. (codecarbon
has no command wrapper to put beside it; its start-up is compared in startup.py.)
Aim: `carbon run` adds under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def _time_once(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    true = shutil.which("true") or "/bin/true"
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, CARBON_REGION="FR", CARBON_OUTPUT_DIR=folder)
        cases = {
            "true": [true],
            "python -c pass": [sys.executable, "-c", "pass"],
            "carbon run -- true": [sys.executable, "-m", "carbon", "run", "--", true],
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, command in cases.items():
                samples[name].append(_time_once(command, env))
    bare = statistics.median(samples["true"])
    print(f"{'case':<22} {'median ms':>10} {'over true ms':>13}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<22} {median * 1e3:>10.1f} {(median - bare) * 1e3:>13.1f}")
    added = statistics.median(samples["carbon run -- true"]) - bare
    floor = statistics.median(samples["python -c pass"]) - bare
    print(
        f"carbon run adds {added * 1e3:.1f} ms over bare true: {added / 0.100:.2f} of the 100 ms aim "
        f"({floor * 1e3:.1f} ms of it is the interpreter itself)"
    )


if __name__ == "__main__":
    main()
