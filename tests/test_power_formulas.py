"""The pure formulas, checked by hand and as properties; they must also work on numpy arrays."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon.power import chip_share, gpu_power_share, gpu_power_w, memory_power_w, tdp_power_w, vcpu_power_w

frac = st.floats(min_value=0, max_value=1, allow_nan=False)
watts = st.floats(min_value=0, max_value=1000, allow_nan=False)


def test_vcpu_power_by_hand():
    # 4 vCPUs, 0.65 W idle and 4.26 W full per vCPU, 50 % busy: 4 * (0.65 + 0.5 * 3.61) = 9.82 W
    assert vcpu_power_w(4, 0.65, 4.26, 0.5) == pytest.approx(9.82)


def test_tdp_power_by_hand():
    # 200 W TDP, idle at 20 % of TDP, 25 % busy: 200 * (0.2 + 0.25 * 0.8) = 80 W
    assert tdp_power_w(200, 0.25, 0.2) == pytest.approx(80.0)


def test_memory_and_gpu_by_hand():
    # 16 GiB = 17.179869184 decimal GB; the coefficient is per GiB: 16 * 0.392 = 6.272 W
    assert memory_power_w(17.179869184, 0.392) == pytest.approx(6.272)
    # 16 decimal GB = 14.901 GiB: 14.9011611938 * 0.392 = 5.84125518798 W
    assert memory_power_w(16, 0.392) == pytest.approx(5.841255188)
    # 8 GPUs, 50 W idle, 400 W TDP, 75 % busy: 8 * (50 + 0.75 * 350) = 2500 W
    assert gpu_power_w(8, 50, 400, 0.75) == pytest.approx(2500.0)


def test_chip_share_and_gpu_share_by_hand():
    # 1 of a 76-thread chip; 152 threads of it are two chips (two sockets)
    assert chip_share(1, 76) == pytest.approx(1 / 76)
    assert chip_share(152, 76) == pytest.approx(2.0)
    # 80 % GPU utilisation: central 0.8, low 0.4 (half), high min(1, 1.0) = 1.0
    assert (gpu_power_share(0.8), gpu_power_share(0.8, "low"), gpu_power_share(0.8, "high")) == pytest.approx(
        (0.8, 0.4, 1.0)
    )
    assert gpu_power_share(0.2, "high") == pytest.approx(0.25)


def test_formulas_accept_arrays():
    np.testing.assert_allclose(chip_share(np.array([1.0, 38.0, 152.0]), 76.0), [1 / 76, 0.5, 2.0])
    np.testing.assert_allclose(gpu_power_share(np.array([0.2, 0.9]), "high"), [0.25, 1.0])
    utils = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(vcpu_power_w(2, 1.0, 3.0, utils), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(gpu_power_w(np.array([1, 2, 0]), 10.0, 110.0, utils), [10.0, 120.0, 0.0])


@given(st.integers(min_value=1, max_value=256), watts, watts, frac, frac)
def test_vcpu_power_is_monotonic_in_utilisation(vcpus, a, b, u1, u2):
    low_w, high_w = sorted((a, b))
    u_low, u_high = sorted((u1, u2))
    assert vcpu_power_w(vcpus, low_w, high_w, u_low) <= vcpu_power_w(vcpus, low_w, high_w, u_high) + 1e-9
