"""Modelled meter: interval utilisation from cumulative CPU times, times the bundled power model."""

from __future__ import annotations

from collections import namedtuple

import pytest

from carbon.meters.modelled import (
    ModelledMeter,
    busy_and_total_s,
    gpu_model_per_device,
    utilisation,
)
from carbon.model import Hardware
from carbon.power import power_model

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_busy_time_excludes_idle_iowait_and_double_counted_guest():
    # total = 10+1+4+80+5+0+0+0 (guest 3 is inside user already) = 100; busy = 100 - 80 - 5 = 15
    assert busy_and_total_s(Times(10, 1, 4, 80, 5, 0, 0, 0, 3, 0)) == (15, 100)
    assert utilisation((15, 100), (45, 200)) == pytest.approx(0.30)
    assert utilisation((15, 100), (15, 100)) is None


def test_cpu_and_ram_energy_over_an_interval():
    model = power_model(Hardware(vcpus=4, memory_gb=16))
    readings = iter([Times(0, 0, 0, 100, 0, 0, 0, 0, 0, 0), Times(150, 0, 50, 200, 0, 0, 0, 0, 0, 0)])
    clock = iter([10.0, 40.0])
    meter = ModelledMeter(model, ("cpu", "ram"), cpu_times=lambda: next(readings), clock=lambda: next(clock))
    result = {m.component: m for m in meter.take()}
    util = 200 / 300  # busy 200 s of 300 s of CPU time in the interval
    w_min, w_max = model.min_w_per_vcpu.central, model.max_w_per_vcpu.central
    assert result["cpu"].energy_j.central == pytest.approx(4 * (w_min + util * (w_max - w_min)) * 30.0)
    # 16 decimal GB = 16 / 1.073741824 GiB, at the coefficient's W per GiB
    assert result["ram"].energy_j.central == pytest.approx(16 / (2**30 / 10**9) * model.memory_w_per_gb.central * 30.0)
    assert result["cpu"].method == "modelled" and result["cpu"].energy_j.low < result["cpu"].energy_j.high
    assert meter.last_cpu_util == pytest.approx(util)


def test_one_gpu_share_of_the_gpu_model():
    model = power_model(Hardware(vcpus=8, gpu_count=4, gpu_model="NVIDIA A100"))
    per_gpu = gpu_model_per_device(model)
    assert per_gpu(1.0).central == pytest.approx(model.gpu_tdp_w.central)
    assert per_gpu(0.0).central == pytest.approx(model.gpu_idle_w.central)


def test_proc_stat_line_parsed_without_the_named_tuple_gives_the_same_bits():
    import random

    from carbon.meters.modelled import _times_of_line, busy_and_total_s, proc_stat_busy_and_total_s

    rng = random.Random(7)
    for fields in (4, 7, 8, 10, 11):  # kernels from 2.6 on; an eleventh field a later one may add is left out
        for _ in range(200):
            line = b"cpu  " + b" ".join(str(rng.randrange(10**9)).encode() for _ in range(fields))
            assert proc_stat_busy_and_total_s(line + b"\ncpu0 1 2 3 4\n") == busy_and_total_s(_times_of_line(line))
