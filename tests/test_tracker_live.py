"""The tracker end to end in this process: measured joules, attribution, pricing per hour, tasks, sinks."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import carbon
from carbon.meters.attribution import ProcessTree
from carbon.model import Bounds, Energy
from carbon.sinks.base import SinkError
from carbon.sinks.jsonl import read_run_log
from carbon.tracker import IntervalPricer, Tracker, interval_end, resolve_environment
from tests.fixtures.fake_nvml import FakeGpu, make_nvml
from tests.fixtures.powercap import FakePowercap

DATA = Path(__file__).resolve().parents[1] / "intensity_data"
J_PER_KWH = 3.6e6


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("CARBON_REGION", raising=False)
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    (tmp_path / "carbon.toml").write_text("")
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no GPU library unless a test injects the stand-in


def notes_sink():
    notes: list[str] = []
    return notes, notes.append


class Writer(threading.Thread):
    """Advances fake RAPL counters like a running CPU: small steps, so the tracker's polls see every wrap."""

    def __init__(self, tree: FakePowercap, steps: dict[str, int], max_steps: int = 10**9) -> None:
        super().__init__(daemon=True)
        self.tree, self.steps, self.done = tree, steps, threading.Event()
        self.count, self.max_steps = 0, max_steps

    def run(self) -> None:
        while not self.done.is_set() and self.count < self.max_steps:
            for zone, step in self.steps.items():
                self.tree.advance(zone, step)
            self.count += 1
            time.sleep(0.01)

    def finish(self) -> None:
        self.done.set()
        self.join(5)


def rapl_tree(root: Path) -> FakePowercap:
    tree = FakePowercap(root)
    tree.add_zone("intel-rapl:0", "package-0", max_energy_range_uj=600_000, energy_uj=590_000)
    tree.add_zone("intel-rapl:0:0", "core", max_energy_range_uj=600_000)
    tree.add_zone("intel-rapl:0:1", "dram", max_energy_range_uj=600_000, energy_uj=599_999)
    return tree


def test_measured_joules_to_the_microjoule_across_wraps(tmp_path, monkeypatch):
    tree = rapl_tree(tmp_path / "powercap")
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tree.root))
    _, on_note = notes_sink()
    tracker = Tracker(region="FR", interval_s=0.15, output_dir=str(tmp_path / "out"), detect=False, on_note=on_note)
    tracker.start()
    writer = Writer(tree, {"intel-rapl:0": 20_011, "intel-rapl:0:0": 15_000, "intel-rapl:0:1": 7_003}, max_steps=150)
    writer.start()
    writer.join(30)
    estimate = tracker.stop()
    steps = writer.count
    assert steps == 150  # 150 x 20011 uJ: five wraps of the 600000 uJ package counter
    # Hand calculation: package energy = steps x 20011 uJ; dram = steps x 7003 uJ; the core subzone is inside the package.
    assert round(estimate.energy.cpu_kwh.central * J_PER_KWH * 1e6) == steps * 20_011
    assert round(estimate.energy.ram_kwh.central * J_PER_KWH * 1e6) == steps * 7_003
    assert dict(estimate.energy.methods) == {"cpu": "measured:rapl", "ram": "measured:rapl"}
    records = read_run_log(tracker.run_log)
    assert len(records) >= 3 and [r["seq"] for r in records] == list(range(len(records)))
    assert round(sum(r["breakdown"]["cpu_kwh"] for r in records) * J_PER_KWH * 1e6) == steps * 20_011
    assert all(r["breakdown"]["cpu_method"] == "measured:rapl" and r["attribution"] is None for r in records)
    assert records[0]["start"] == estimate.to_dict()["start"] and records[-1]["end"] == estimate.to_dict()["end"]


def _burner(seconds: float) -> subprocess.Popen:
    code = f"import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\nprint('done', flush=True)\ntime.sleep(30)"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_process_mode_attributes_measured_energy_by_cpu_share(tmp_path, monkeypatch):
    tree = rapl_tree(tmp_path / "powercap")
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tree.root))
    busy, idle = _burner(0.6), subprocess.Popen(["sleep", "30"])
    try:
        machine = Tracker(region="FR", interval_s=0.3, write=False, detect=False, on_note=lambda _: None).start()
        on_busy = Tracker(
            region="FR",
            interval_s=0.3,
            output_dir=str(tmp_path / "busy"),
            detect=False,
            mode="process",
            pid=busy.pid,
            on_note=lambda _: None,
        ).start()
        on_idle = Tracker(
            region="FR",
            interval_s=0.3,
            output_dir=str(tmp_path / "idle"),
            detect=False,
            mode="process",
            pid=idle.pid,
            on_note=lambda _: None,
        ).start()
        writer = Writer(tree, {"intel-rapl:0": 10_000, "intel-rapl:0:1": 1_000})
        writer.start()
        assert busy.stdout.readline().strip() == "done"
        writer.finish()
        results = {name: t.stop() for name, t in (("machine", machine), ("busy", on_busy), ("idle", on_idle))}
    finally:
        busy.kill(), idle.kill(), busy.wait(), idle.wait()
    machine_j = results["machine"].energy.cpu_kwh.central * J_PER_KWH
    assert round(machine_j * 1e6) == writer.count * 10_000  # machine mode: everything the package counted
    for name in ("busy", "idle"):
        for record in read_run_log(next((tmp_path / name).glob("*.jsonl"))):
            share = record["attribution"]
            assert record["mode"] == "process" and 0.0 <= share["cpu"] <= 1.0 and 0.0 < share["ram"] < 0.05
    busy_j = results["busy"].energy.cpu_kwh.central * J_PER_KWH
    idle_j = results["idle"].energy.cpu_kwh.central * J_PER_KWH
    assert idle_j <= 0.02 * machine_j  # `sleep` used no CPU: next to nothing is attributed to it
    assert 0.05 * machine_j < busy_j <= machine_j  # the burner used ~0.6 CPU s of the machine's busy time
    assert any(s.factor == "attribution" and "not measurement" in s.detail for s in results["busy"].sources)


class FixedBusy:
    """Machine CPU times advancing by exactly 100 busy seconds per reading: share x 100 = tree CPU seconds."""

    def __init__(self) -> None:
        self.busy = 0.0

    def __call__(self):
        from collections import namedtuple

        self.busy += 100.0
        return namedtuple("T", "user idle")(self.busy, 0.0)


def test_reaped_children_are_not_counted_twice():
    code = (
        "import subprocess, sys\n"
        "burn = 'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.6: pass\\n"
        'print("burnt", flush=True)\\ninput()\'\n'
        "child = subprocess.Popen([sys.executable, '-c', burn], stdin=subprocess.PIPE, text=True)\n"
        "input(); child.communicate('\\n'); print('reaped', flush=True); input()\n"
    )
    root = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        tree = ProcessTree(root.pid, cpu_times=FixedBusy())
        assert root.stdout.readline().strip() == "burnt"
        seen_alive = tree.take().cpu * 100  # the child's 0.6 s (plus interpreter start-ups)
        root.stdin.write("\n"), root.stdin.flush()
        assert root.stdout.readline().strip() == "reaped"
        after_reap = tree.take().cpu * 100  # moved into the root's children times: already counted
    finally:
        root.kill(), root.wait()
    assert 0.6 <= seen_alive < 1.5
    assert after_reap < 0.2  # counting it again would add another 0.6 s


def test_unknown_location_is_world_with_a_loud_warning_and_the_national_range(tmp_path):
    notes, on_note = notes_sink()
    tracker = Tracker(interval_s=5, write=False, detect=False, on_note=on_note).start()
    estimate = tracker.stop()
    assert estimate.location.zone == "WORLD"
    assert any("no location known" in n for n in notes) and any("no location known" in w for w in estimate.warnings)
    year = datetime.now(timezone.utc).year
    latest: dict[str, tuple[int, float]] = {}
    for row in csv.DictReader((DATA / "countries.csv").open()):
        y = int(row["year"])
        # Zeros are reporting gaps in the Ember table (Burundi), not zero-carbon grids.
        if (
            len(row["iso2"]) == 2
            and float(row["intensity_g_per_kwh"]) > 0
            and year >= y >= latest.get(row["iso2"], (0, 0.0))[0]
        ):
            latest[row["iso2"]] = (y, float(row["intensity_g_per_kwh"]))
    values = [v for _, v in latest.values()]
    assert estimate.intensity_g_per_kwh.low == pytest.approx(min(values))
    assert estimate.intensity_g_per_kwh.high == pytest.approx(max(values))
    assert estimate.intensity_g_per_kwh.high - estimate.intensity_g_per_kwh.low > 500


def test_intervals_end_at_hour_boundaries():
    start = datetime(2022, 6, 1, 10, 59, 55, tzinfo=timezone.utc)
    assert interval_end(start, 10) == datetime(2022, 6, 1, 11, 0, tzinfo=timezone.utc)
    assert interval_end(start.replace(minute=30), 10) == datetime(2022, 6, 1, 10, 31, 5, tzinfo=timezone.utc)


def test_each_interval_priced_at_its_own_hour(tmp_path):
    hourly = {}
    for row in csv.DictReader((DATA / "grid_hourly.csv").open()):
        if row["zone"] == "US-BA-CISO" and row["timestamp_utc"] in ("2022-06-01T10:00:00Z", "2022-06-01T11:00:00Z"):
            hourly[row["timestamp_utc"]] = float(row["intensity_g_per_kwh"])
    assert len(hourly) == 2 and len(set(hourly.values())) == 2
    from carbon.config import load

    pricer = IntervalPricer(resolve_environment("US-BA-CISO", False, 0.0), load({}, environ={}))
    energy = Energy(cpu_kwh=Bounds.exact(1.0), methods=(("cpu", "measured:rapl"),))
    first = pricer.price(
        energy, datetime(2022, 6, 1, 10, 59, 50, tzinfo=timezone.utc), datetime(2022, 6, 1, 11, 0, tzinfo=timezone.utc)
    )
    second = pricer.price(
        energy, datetime(2022, 6, 1, 11, 0, tzinfo=timezone.utc), datetime(2022, 6, 1, 11, 0, 10, tzinfo=timezone.utc)
    )
    pricer.close()
    assert first.intensity_g_per_kwh.central == hourly["2022-06-01T10:00:00Z"]
    assert second.intensity_g_per_kwh.central == hourly["2022-06-01T11:00:00Z"]
    # 1 kWh IT x PUE (on-premises 1.0 central) x g/kWh / 1000 = kg
    assert first.co2e_kg.central == pytest.approx(hourly["2022-06-01T10:00:00Z"] / 1000.0)


def test_tasks_decorator_and_context_manager(tmp_path):
    with carbon.track(region="FR", interval_s=60, output_dir=str(tmp_path), detect=False, on_note=lambda _: None) as t:
        with t.task("load"):
            time.sleep(0.05)
        with t.task("train"):
            time.sleep(0.05)
    records = read_run_log(t.run_log)
    assert [r["task"] for r in records] == [None, "load", "train", None]
    summary = t.estimate.to_dict()
    assert set(summary["tasks"]) == {"load", "train"} and summary["intervals"] == 4

    @carbon.track(region="FR", output_dir=str(tmp_path / "dec"), detect=False, on_note=lambda _: None)
    def work(x):
        return x * 2

    assert work(2) == 4 and work(3) == 6
    assert len(list((tmp_path / "dec").glob("*.jsonl"))) == 2
    rows = list(csv.DictReader((tmp_path / "dec" / "runs.v1.csv").open()))
    assert len(rows) == 2 and rows[0]["region"] == "FR"


def test_unwritable_output_fails_at_start(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    tracker = Tracker(region="FR", output_dir=str(blocker / "runs"), detect=False)
    with pytest.raises(SinkError, match="cannot write"):
        tracker.start()


def test_gpu_measured_through_nvml(tmp_path, monkeypatch):
    gpus = [FakeGpu(energy_mj=1_000, uuid="GPU-a"), FakeGpu(energy_mj=0, uuid="GPU-b")]
    monkeypatch.setitem(sys.modules, "pynvml", make_nvml(gpus))
    tracker = Tracker(region="FR", interval_s=60, write=False, detect=False, on_note=lambda _: None).start()
    time.sleep(0.2)  # NVML opens on the tracker's thread
    gpus[0].energy_mj += 250_000
    gpus[1].energy_mj += 125_500
    estimate = tracker.stop()
    assert estimate.energy.gpu_kwh.central * J_PER_KWH == pytest.approx(375.5)
    assert estimate.energy.method("gpu") == "measured:nvml" and estimate.hardware.gpu_count == 2


class FullDisk:
    """A sink whose writes fail like a full disk after the first one."""

    def __init__(self) -> None:
        self.written = 0

    def open(self, run):
        return None

    def interval(self, record):
        self.written += 1
        if self.written > 1:
            raise OSError(28, "No space left on device")

    def close(self, summary):
        raise OSError(28, "No space left on device")


def test_a_failing_sink_does_not_lose_the_totals(tmp_path, monkeypatch):
    tree = rapl_tree(tmp_path / "powercap")
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tree.root))
    notes, on_note = notes_sink()
    tracker = Tracker(region="FR", interval_s=0.1, detect=False, sinks=[FullDisk()], on_note=on_note).start()
    writer = Writer(tree, {"intel-rapl:0": 1_000}, max_steps=40)
    writer.start()
    writer.join(30)
    estimate = tracker.stop()
    assert round(estimate.energy.cpu_kwh.central * J_PER_KWH * 1e6) == 40 * 1_000
    assert any("No space left" in n and "measuring goes on" in n for n in notes)
    assert any("run summary not written" in n for n in notes)
