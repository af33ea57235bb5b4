"""NVML meter through a stand-in pynvml module (tests/fixtures/fake_nvml.py): counters, integration, errors."""

from __future__ import annotations

import pytest

from carbon.meters.base import MeterError, NullMeter
from carbon.meters.nvml import NvmlMeter, open_nvml
from carbon.model import Bounds
from tests.fixtures.fake_nvml import FakeGpu, make_nvml


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def gpu_energy(measurements):
    return {m.method: m.energy_j for m in measurements}


def test_energy_counter_difference_in_joules():
    gpus = [FakeGpu(energy_mj=5_000_000, uuid="GPU-a"), FakeGpu(energy_mj=10, uuid="GPU-b")]
    meter = open_nvml(nvml=make_nvml(gpus))
    assert isinstance(meter, NvmlMeter) and meter.poll_s == float("inf")
    gpus[0].energy_mj += 123_456  # 123.456 J
    gpus[1].energy_mj += 1_001
    assert gpu_energy(meter.take())["measured:nvml"].central == pytest.approx(124.457, abs=1e-9)
    assert gpu_energy(meter.take())["measured:nvml"].central == 0.0


def test_older_gpu_integrates_power_by_trapezoids():
    clock = Clock()
    gpus = [FakeGpu(name="Tesla P100", energy_mj=None, power_mw=100_000)]
    nvml = make_nvml(gpus)
    meter = open_nvml(nvml=nvml, clock=clock)
    assert meter.poll_s == 1.0 and "older than Volta" in meter.notes()[0]
    clock.now += 2.0
    gpus[0].power_mw = 200_000
    meter.poll()  # 2 s x (100 + 200) / 2 W = 300 J
    clock.now += 1.0
    gpus[0].power_mw = 200_000  # 1 s x 200 W = 200 J
    assert gpu_energy(meter.take())["measured:nvml"].central == pytest.approx(500.0)
    assert ("energy", gpus[0].uuid) not in nvml.calls


def test_gpu_selection_by_index_and_uuid():
    gpus = [FakeGpu(uuid=f"GPU-{i}aaa", energy_mj=0) for i in range(3)]
    meter = open_nvml("0,2", nvml=make_nvml(gpus))
    assert [g.index for g in meter.gpus] == [0, 2]
    meter = open_nvml(["GPU-1"], nvml=make_nvml(gpus))
    assert [g.index for g in meter.gpus] == [1]
    with pytest.raises(MeterError, match="index 5"):
        open_nvml("5", nvml=make_nvml(gpus))


def test_mig_noted_as_whole_gpu():
    meter = open_nvml(nvml=make_nvml([FakeGpu(mig=True)]))
    assert any("MIG mode" in note and "whole GPU" in note for note in meter.notes())


def test_gpu_lost_mid_run_degrades_to_the_model_with_a_flag():
    clock = Clock()
    gpus = [FakeGpu(uuid="GPU-ok", energy_mj=0), FakeGpu(uuid="GPU-bad", energy_mj=0, util=50)]
    model_calls = []

    def model(util):
        model_calls.append(util)
        return Bounds(150.0, 50.0, 250.0)  # watts for one GPU

    meter = open_nvml(nvml=make_nvml(gpus), model=model, clock=clock)
    gpus[0].energy_mj += 10_000
    gpus[1].energy_mj += 20_000
    clock.now += 1.0
    assert gpu_energy(meter.take()) == {"measured:nvml": Bounds.exact(30.0)}
    gpus[1].lost = True
    gpus[0].energy_mj += 7_000
    clock.now += 4.0
    result = gpu_energy(meter.take())  # degraded at this take's poll: no model time yet
    assert result["measured:nvml"] == Bounds.exact(7.0)
    clock.now += 2.0
    result = gpu_energy(meter.take())
    assert result["modelled"] == Bounds(300.0, 100.0, 500.0)  # 2 s at 150 (50..250) W
    assert set(model_calls) == {0.5}  # its last good utilisation
    notes = meter.notes()
    assert len(notes) == 1 and "GPU 1" in notes[0] and "modelled" in notes[0]


def test_process_shares_by_sm_utilisation_else_process_count():
    gpus = [
        FakeGpu(processes=[(10, 60), (11, 20), (99, 20)]),
        FakeGpu(processes=[]),
        FakeGpu(processes=[(99, 0), (10, 0)]),
    ]
    meter = open_nvml(nvml=make_nvml(gpus))
    assert meter.process_shares({10, 11}) == {0: pytest.approx(0.8), 1: 0.0, 2: 0.5}


def test_no_driver_or_no_library_is_a_null_meter(monkeypatch):
    assert isinstance(open_nvml(nvml=make_nvml([], driver_loaded=False)), NullMeter)
    assert isinstance(open_nvml(nvml=make_nvml([])), NullMeter)
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    meter = open_nvml()
    assert isinstance(meter, NullMeter) and "nvidia-ml-py" in meter.reason
