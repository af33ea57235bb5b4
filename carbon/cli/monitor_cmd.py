"""`carbon monitor`: measure the whole machine continuously until SIGTERM or Ctrl-C.

Each interval goes to a JSON-lines log rotated daily (`monitor-YYYY-MM-DD.jsonl`, the run-log
record format) and, with `--prometheus-port`, to a Prometheus endpoint. On SIGTERM (systemd's
stop) or SIGINT the interval in progress is cut and written, the endpoint closed, and the
command exits 0. See docs/carbon-monitor.service and docs/grafana-carbon.json.
"""

from __future__ import annotations

import argparse
import sys

HELP = "measure this machine continuously: daily logs and a Prometheus endpoint"
EXAMPLES = """examples:
  carbon monitor --region FR --prometheus-port 9464
  carbon monitor --region aws:eu-west-1 --interval 30 --log-dir /var/log/carbon"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", default=None, help="where the machine is (FR, US-CA, aws:us-east-1); default: detected"
    )
    parser.add_argument(
        "--interval", type=float, default=None, metavar="SECONDS", help="seconds per interval (default: interval_s)"
    )
    parser.add_argument(
        "--log-dir", default="carbon-monitor", metavar="DIR", help="folder of the daily logs (default: carbon-monitor)"
    )
    parser.add_argument("--prometheus-port", type=int, default=None, metavar="N", help="serve metrics on port N")
    parser.add_argument(
        "--listen", default="127.0.0.1", metavar="ADDR", help="address of the metrics endpoint (default: 127.0.0.1)"
    )
    parser.add_argument("--pue", type=float, default=None, help="data-centre PUE, if known")


def run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from carbon.cli import UsageError
    from carbon.sinks.daily_jsonl import DailyJsonlSink
    from carbon.tracker import Tracker

    if args.interval is not None and not args.interval > 0:
        raise UsageError(f"--interval must be a positive number of seconds, got {args.interval:g}")
    sinks: list = [DailyJsonlSink(args.log_dir)]
    # Bad options and unwritable folders raise carbon's user-input errors: one line, exit 2.
    if args.prometheus_port is not None:
        from carbon.sinks.prometheus_sink import PrometheusSink

        sinks.append(PrometheusSink(args.prometheus_port, address=args.listen))
    tracker = Tracker(
        region=args.region, interval_s=args.interval, mode="machine", pue=args.pue, sinks=sinks, comet=False
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        tracker.start()
        where = f", metrics on http://{args.listen}:{sinks[1].port}/metrics" if len(sinks) > 1 else ""
        print(
            f"carbon monitor: logging to {args.log_dir}{where}; stop with SIGTERM or Ctrl-C",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
        estimate = tracker.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    from carbon.units import ENERGY_KWH, MASS_KG, quantity

    co2e = estimate.co2e_kg
    print(
        f"carbon monitor: stopped; {quantity(estimate.energy_kwh.central, ENERGY_KWH)}, "
        f"{quantity(co2e.central, MASS_KG)} CO2e (range {quantity(co2e.low, MASS_KG)} - {quantity(co2e.high, MASS_KG)})"
        f" over {tracker.run_id}",
        file=sys.stderr,
    )
    return 0
