"""Intervals held and written several at once (1-10 s intervals, file sinks only): the same records,
byte for byte, as intervals written one by one; nothing finished is lost at interpreter exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from carbon.meters.modelled import ModelledMeter, busy_and_total_s, proc_stat_busy_and_total_s
from carbon.model import Bounds
from carbon.sinks.jsonl import JsonlSink, read_run_log
from carbon.tracker import HOLD_S, Tracker, _Sampler, utc_iso
from tests.test_tracker_live import _quiet_environment  # noqa: F401  (an autouse fixture: no region, RAPL or NVML)

ROOT = Path(__file__).resolve().parents[1]
Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")
TICKS = os.sysconf("SC_CLK_TCK")


class Machine:
    """A clock and CPU counters the test moves: each second, `busy` more of 2 CPU-seconds are busy."""

    def __init__(self) -> None:
        self.clock_s = 100.0
        self.busy_s = 0.0
        self.total_s = 0.0

    def advance(self, busy_s: float) -> None:
        self.clock_s += 1.0
        self.busy_s += busy_s
        self.total_s += 2.0

    def times(self) -> Times:
        return Times(self.busy_s, 0, 0, self.total_s - self.busy_s, 0, 0, 0, 0, 0, 0)


def sampler_on(machine: Machine, folder: Path, hold: bool) -> _Sampler:
    """A sampler (never started: the test is its loop) whose modelled meter reads `machine`."""
    tracker = Tracker(region="FR", interval_s=1.0, detect=False, sinks=[JsonlSink(folder)], on_note=lambda _: None)
    sampler = _Sampler(tracker)
    sampler.modelled = ModelledMeter(None, (), cpu_times=machine.times, clock=lambda: machine.clock_s)
    sampler._setup()
    sampler.hold_s = HOLD_S if hold else 0.0
    return sampler


def test_records_written_in_batches_equal_those_written_one_by_one(tmp_path):
    machines, samplers = [Machine(), Machine()], []
    for hold, machine in zip((False, True), machines):
        samplers.append(sampler_on(machine, tmp_path / str(hold), hold))
    assert samplers[1].hold_s == 10.0  # a 1 s interval, file sinks only: held
    started = samplers[0].started_at
    for sampler in samplers:  # the same run start, so that the same moments end the same intervals
        sampler.started_at = sampler.interval_start = started
    logs = [Path(s.tracker.run_log) for s in samplers]
    busy = [0.5, 1.0, 1.5, 2.0, 0.0, 0.5, 1.0, 1.5, 2.0, 0.0, 0.5, 1.0]  # of 2 CPU-seconds each second
    for second, busy_s in enumerate(busy, start=1):
        for machine, sampler in zip(machines, samplers):
            machine.advance(busy_s)
            with sampler.lock:
                sampler._cut(started + timedelta(seconds=second), flush=second == len(busy))
        written = [len(read_run_log(log)) for log in logs]
        # One by one: every interval as it ends. Held: nothing until the held ones span 10 s, then all.
        assert written == [second, 0 if second < 10 else (10 if second < len(busy) else len(busy))]
    one_by_one, batched = (
        [json.loads(line) for line in log.read_bytes().replace(s.tracker.run_id.encode(), b"RUN").splitlines()]
        for log, s in zip(logs, samplers)
    )
    assert batched == one_by_one  # byte for byte, but for the run id
    assert [r["seq"] for r in batched] == list(range(len(busy)))
    assert [r["start"] for r in batched] == [utc_iso(started + timedelta(seconds=s)) for s in range(len(busy))]
    assert all(r["duration_s"] == 1.0 for r in batched)
    # By hand: utilisation busy/2 over 1 s, at the model's per-vCPU watts for this machine's vCPUs.
    model = samplers[1].modelled.model
    vcpus = batched[0]["hardware"]["vcpus"]
    w_min, w_max = model.min_w_per_vcpu.central, model.max_w_per_vcpu.central
    for record, busy_s in zip(batched, busy):
        expected_cpu_kwh = vcpus * (w_min + busy_s / 2.0 * (w_max - w_min)) * 1.0 / 3.6e6
        assert record["breakdown"]["cpu_kwh"] == pytest.approx(expected_cpu_kwh, rel=1e-12)
    for sampler in samplers:
        sampler.modelled.close()
        sampler._close_sinks({})


def test_a_live_sink_gets_each_interval_as_it_ends(tmp_path, monkeypatch):
    class Live:  # a plug-in sink: no `batched`, so it is taken for one that is watched as the run goes
        def open(self, run):
            pass

        def interval(self, record):
            pass

        def close(self, summary):
            pass

    tracker = Tracker(region="FR", interval_s=1.0, detect=False, sinks=[JsonlSink(tmp_path), Live()])
    assert _Sampler(tracker).hold_s == 0.0
    files_only = Tracker(region="FR", interval_s=1.0, detect=False, output_dir=str(tmp_path / "o"))
    assert _Sampler(files_only).hold_s == HOLD_S
    monkeypatch.setenv("CARBON_INTENSITY_SOURCES", "electricitymaps,bundled")
    monkeypatch.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")
    monkeypatch.setenv("CARBON_ELECTRICITYMAPS_URL", "http://127.0.0.1:9/v3")  # nothing listens there
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    tracker = Tracker(region="FR", interval_s=1.0, detect=False, output_dir=str(tmp_path / "l"), on_note=lambda _: None)
    with tracker:  # a live intensity source: each interval priced with the value known as it ends
        tracker._sampler.ready.wait()
        assert tracker._sampler.pricer.prefetcher is not None and tracker._sampler.hold_s == 0.0
    sub_second = Tracker(region="FR", interval_s=0.5, detect=False, output_dir=str(tmp_path / "s"))
    assert _Sampler(sub_second).hold_s == 0.0  # asked for to watch a run closely: as they end


def test_held_intervals_are_written_when_the_interpreter_exits_without_stop(tmp_path):
    script = textwrap.dedent(
        f"""
        import time
        from carbon.tracker import Tracker
        tracker = Tracker(region="FR", interval_s=1.0, output_dir={str(tmp_path)!r}, detect=False,
                          on_note=lambda _: None).start()
        tracker._sampler.ready.wait()
        time.sleep(3.6)
        print(tracker.run_log, len(tracker._sampler.held) + tracker._sampler.totals.intervals, flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=os.environ, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    log, finished = result.stdout.split()
    records = read_run_log(log)  # every interval finished before exit, none of them had been written
    assert len(records) >= int(finished) >= 2
    assert [r["seq"] for r in records] == list(range(len(records)))


def test_proc_stat_line_gives_the_same_seconds_as_the_named_tuple():
    # busy = total - idle - iowait = (10+1+4+80+5+0+0+0) - 80 - 5 = 15 ticks; guest (3) is inside user
    head = b"cpu  10 1 4 80 5 0 0 0 3 0\ncpu0 5 0 2 40 2 0 0 0 1 0\n"
    assert proc_stat_busy_and_total_s(head) == pytest.approx((15 / TICKS, 100 / TICKS))
    from_tuple = busy_and_total_s(Times(*(v / TICKS for v in (10, 1, 4, 80, 5, 0, 0, 0, 3, 0))))
    assert proc_stat_busy_and_total_s(head) == from_tuple  # the same bits
    assert proc_stat_busy_and_total_s(b"cpu  7 0 3 50\n") == pytest.approx(
        (10 / TICKS, 60 / TICKS)
    )  # an old kernel's 4 fields


def test_utc_iso_text():
    paris = timezone(timedelta(hours=1))
    assert utc_iso(datetime(2026, 11, 29, 5, 0, 0, 12, tzinfo=paris)) == "2026-11-29T04:00:00.000012Z"
    assert utc_iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.000000Z"
    moment = datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert utc_iso(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_bounds_sums_still_refuse_what_the_constructor_refuses():
    inf = float("inf")
    with pytest.raises(ValueError):
        Bounds(inf, 0.0, inf) + Bounds(-inf, -inf, 0.0)  # inf - inf: not a number
    total = Bounds(1.0, 0.5, 2.0) + Bounds(2.0, 1.0, 3.0)
    assert total == Bounds(3.0, 1.5, 5.0) and hash(total) == hash(Bounds(3.0, 1.5, 5.0))
    with pytest.raises(AttributeError):
        total.central = 0.0  # still frozen
