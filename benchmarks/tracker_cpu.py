"""The tracker's steady cost: whole-process CPU at a 1 s interval as a share of one core, and the
peak resident memory it adds, beside CodeCarbon's tracker measured the same way.

One method for both, the one `benchmarks/commands.py` uses: a process starts the tracker, sleeps
2 s (start-up done), then sleeps `--seconds` while its CPU time (all threads) is read before and
after; a process that only sleeps, in the same interpreter, is subtracted. Finding a tracker's
threads by name cannot work for CodeCarbon (its scheduler threads are unnamed), so no thread is
singled out. Aim: <= 0.025 % of a core.

    python benchmarks/tracker_cpu.py --peer-python /path/to/codecarbon-venv/bin/python
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from commands import _peer_ok, compile_bytecode, tracker_cpu  # the benchmarks folder is not a package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each process")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median and range printed)")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter in which codecarbon is installed")
    args = parser.parse_args()
    peer = args.peer_python if _peer_ok(args.peer_python) else None
    if peer is None:
        print("codecarbon not importable: pass --peer-python /path/to/venv/bin/python to print its figures")
    compile_bytecode()
    tracker_cpu(args.seconds, args.repeat, peer)


if __name__ == "__main__":
    main()
