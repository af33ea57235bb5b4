"""RAPL meter against fake powercap trees with the kernel's layout (tests/fixtures/powercap.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon.meters.base import NullMeter
from carbon.meters.rapl import (
    RaplMeter,
    discover,
    open_rapl,
    powercap_root,
    select,
    unit_delta_uj,
    zone_id,
)
from tests.fixtures.powercap import FakePowercap, server_tree


def by_component(measurements):
    return {m.component: m for m in measurements}


def test_hex_zone_numbering():
    assert zone_id("intel-rapl:0") == (0,)
    assert zone_id("intel-rapl:a") == (10,)
    assert zone_id("intel-rapl:1f:2") == (31, 2)


def test_wrap_arithmetic_by_hand():
    # counter 0..99 (max 99): from 95 to 3 is 95->99 (4) + wrap to 0 (1) + 0->3 (3) = 8
    assert unit_delta_uj(95, 3, 99) == 8
    assert unit_delta_uj(3, 95, 99) == 92


def test_discovers_each_zone_once_through_links_and_nesting(tmp_path):
    server_tree(tmp_path)
    names = [z.name for z in discover(tmp_path)]
    assert names == [
        "intel-rapl:0",
        "intel-rapl:0:0",
        "intel-rapl:0:1",
        "intel-rapl:0:2",
        "intel-rapl:1",
        "intel-rapl:a",
        "intel-rapl:a:0",
    ]


def test_packages_and_dram_counted_core_uncore_psys_not(tmp_path):
    tree = server_tree(tmp_path)
    meter = open_rapl(tmp_path)
    assert isinstance(meter, RaplMeter) and set(meter.components) == {"cpu", "ram"}
    tree.advance("intel-rapl:0", 40_000_001)
    tree.advance("intel-rapl:0:0", 30_000_000)  # inside package-0: must not be added again
    tree.advance("intel-rapl:0:1", 5_000_000)
    tree.advance("intel-rapl:0:2", 2_500_003)
    tree.advance("intel-rapl:a", 1_000_000)
    tree.advance("intel-rapl:a:0", 250_000)
    tree.advance("intel-rapl:1", 99_000_000)  # platform: includes the packages
    result = by_component(meter.take())
    assert result["cpu"].energy_j.central == pytest.approx(41.000001, abs=1e-7)
    assert result["ram"].energy_j.central == pytest.approx(2.750003, abs=1e-7)
    assert result["cpu"].method == "measured:rapl" and result["cpu"].energy_j.low == result["cpu"].energy_j.high
    again = by_component(meter.take())
    assert again["cpu"].energy_j.central == 0.0


def test_selection_falls_back_to_core_uncore_then_psys(tmp_path):
    zones = discover(server_tree(tmp_path).root)
    everything = {z.name for z in zones}
    chosen = select(zones, everything - {"intel-rapl:0"})
    assert [z.name for z in chosen["cpu"]] == ["intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:a"]
    chosen = select(zones, {"intel-rapl:1", "intel-rapl:0:2"})
    assert [z.name for z in chosen["cpu"]] == ["intel-rapl:1"] and [z.name for z in chosen["ram"]] == ["intel-rapl:0:2"]


def test_wraparounds_written_by_a_thread_are_exact_to_the_microjoule(tmp_path):
    tree = FakePowercap(tmp_path)
    tree.add_zone("intel-rapl:0", "package-0", max_energy_range_uj=999_999, energy_uj=999_000)
    tree.add_zone("intel-rapl:b", "package-11", max_energy_range_uj=1_000, energy_uj=0)
    meter = open_rapl(tmp_path)
    assert meter.poll_s == pytest.approx(0.05)  # tiny ranges: poll as often as allowed
    steps = [(700_001, 999), (600_000, 1), (999_999, 500), (3, 1000), (450_123, 2)]
    written, polled = threading.Event(), threading.Event()

    def writer():
        for big, small in steps:
            tree.advance("intel-rapl:0", big)
            tree.advance("intel-rapl:b", small)
            written.set()
            polled.wait(5)
            polled.clear()

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in steps:
        assert written.wait(5)
        written.clear()
        time.sleep(0.002)  # a whole range of these tiny counters takes 1 kW a millisecond: keep it physical
        meter.poll()
        polled.set()
    thread.join(5)
    # Hand sum: 700001 + 600000 + 999999 + 3 + 450123 = 2750126 uJ; 999 + 1 + 500 + 1000 + 2 = 2502 uJ.
    cpu = by_component(meter.take())["cpu"]
    assert round(cpu.energy_j.central * 1e6) == 2_750_126 + 2_502
    assert sum(z.wraps for z in meter.zones["cpu"]) >= 5


def test_unreadable_counters_reported_once_with_the_fix(tmp_path):
    root = tmp_path
    server_tree(root)
    for path in root.rglob("energy_uj"):
        path.chmod(0)
    code = (
        "import json, sys; from pathlib import Path; from carbon.meters.rapl import open_rapl; "
        "m = open_rapl(Path(sys.argv[1])); print(json.dumps([type(m).__name__, m.notes(), m.notes()]))"
    )
    command = [sys.executable, "-c", code, str(root)]
    if os.geteuid() == 0:  # root reads any file: drop the capabilities that let it, as an ordinary user lacks them
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    kind, notes, second = json.loads(out.stdout)
    assert kind == "NullMeter"
    assert len(notes) == 1 and second == []
    assert "CVE-2020-8694" in notes[0] and f"sudo chmod o+r {root}/intel-rapl:*/energy_uj" in notes[0]
    assert "udev" in notes[0]


def test_disabled_or_absent_gives_a_null_meter(tmp_path, monkeypatch):
    assert isinstance(open_rapl(tmp_path / "missing"), NullMeter)
    tree = server_tree(tmp_path)
    (tree.control / "enabled").write_text("0\n")
    meter = open_rapl(tmp_path)
    assert isinstance(meter, NullMeter) and not meter.available() and meter.take() == []
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path))
    assert powercap_root() == tmp_path


@given(max_range=st.integers(1, 2**40), previous=st.integers(0, 2**40), advance=st.integers(0, 2**40))
def test_one_wrap_is_always_recovered_exactly(max_range, previous, advance):
    previous %= max_range + 1
    advance %= max_range + 1  # at most one full range between two reads
    current = (previous + advance) % (max_range + 1)
    assert unit_delta_uj(previous, current, max_range) == advance


def test_a_counter_running_backwards_is_not_a_wrap(tmp_path):
    # Default range 262,143,328,850 uJ. 5,000,000 -> 4,000,000 "as a wrap" would be 262 kJ in a
    # millisecond; it is a reset: that step counts nothing, the forward steps count exactly.
    tree = FakePowercap(tmp_path)
    tree.add_zone("intel-rapl:0", "package-0", energy_uj=5_000_000)
    meter = open_rapl(tmp_path)
    for value in (4_000_000, 3_000_000, 3_000_500, 2_000_000):
        tree.write("intel-rapl:0", value)
        meter.poll()
    zone = meter.zones["cpu"][0]
    assert zone.wraps == 0 and zone.resets == 3
    assert round(by_component(meter.take())["cpu"].energy_j.central * 1e6) == 500  # the one forward step
    notes = meter.notes()
    assert len(notes) == 1 and "treated as a reset" in notes[0] and "5000000 to 4000000" in notes[0]


def test_a_drop_from_the_top_of_the_range_is_still_a_wrap(tmp_path):
    # 262,143,328,000 -> 1,000 is 850 + 1 + 1,000 = 1,851 uJ: a wrap, counted exactly.
    tree = FakePowercap(tmp_path)
    tree.add_zone("intel-rapl:0", "package-0", energy_uj=262_143_328_000)
    meter = open_rapl(tmp_path)
    tree.write("intel-rapl:0", 1_000)
    meter.poll()
    assert meter.zones["cpu"][0].wraps == 1 and meter.zones["cpu"][0].resets == 0
    assert round(by_component(meter.take())["cpu"].energy_j.central * 1e6) == 1_851
