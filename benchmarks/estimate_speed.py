"""How much `import carbon` and a whole `carbon estimate` cost over a bare interpreter.

Runs each command N times, interleaved so that machine noise hits all of them alike, and prints
medians and the differences against `python -c pass` measured in the same run.
Aims: import under 30 ms above bare, a whole estimate call under 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ESTIMATE = [
    sys.executable,
    "-m",
    "carbon",
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
]
CASES = {
    "bare python": [sys.executable, "-c", "pass"],
    "import carbon": [sys.executable, "-c", "import carbon"],
    "carbon estimate": ESTIMATE,
}


def _time_once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, command in CASES.items():
            samples[name].append(_time_once(command))
    bare = statistics.median(samples["bare python"])
    print(f"{'case':<18} {'median ms':>10} {'over bare ms':>13} {'ratio':>7}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<18} {median * 1000:>10.1f} {(median - bare) * 1000:>13.1f} {median / bare:>7.2f}")


if __name__ == "__main__":
    main()
