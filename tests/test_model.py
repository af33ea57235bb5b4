import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon.model import Bounds, Energy, Estimate, Location, Source, Usage


def test_bounds_reject_disorder():
    with pytest.raises(ValueError, match="low <= central <= high"):
        Bounds(1.0, 2.0, 3.0)


def test_bounds_reject_nan():
    with pytest.raises(ValueError, match="must be a number"):
        Bounds(math.nan, 0.0, 1.0)


def test_usage_rejects_negative_duration():
    with pytest.raises(ValueError, match="non-negative"):
        Usage(duration_s=-1)


def test_usage_rejects_utilisation_above_one():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Usage(duration_s=1, cpu_util=1.5)


positive = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(positive, positive, positive, positive)
def test_times_keeps_order(a, b, c, d):
    low1, high1 = sorted((a, b))
    low2, high2 = sorted((c, d))
    product = Bounds((low1 + high1) / 2, low1, high1).times(Bounds((low2 + high2) / 2, low2, high2))
    assert product.low <= product.central <= product.high


def test_estimate_co2e_is_energy_times_intensity():
    # 2 kWh IT energy, PUE 1.5 -> 3 kWh facility; 400 g/kWh -> 1.2 kg.
    estimate = Estimate(
        energy=Energy(cpu_kwh=Bounds.exact(2.0)),
        pue=Bounds.exact(1.5),
        intensity_g_per_kwh=Bounds.exact(400.0),
        location=Location(region="FR", zone="FR", country="FR"),
        sources=(Source("intensity", "test"),),
    )
    assert estimate.energy_kwh.central == pytest.approx(3.0)
    assert estimate.co2e_kg.central == pytest.approx(1.2)
    assert estimate.to_dict()["location"] == {"provider": None, "region": "FR", "zone": "FR", "country": "FR"}


def test_energy_addition_marks_mixed_methods():
    a = Energy(cpu_kwh=Bounds.exact(1), methods=(("cpu", "measured:rapl"),))
    b = Energy(cpu_kwh=Bounds.exact(2), methods=(("cpu", "modelled"),))
    total = a + b
    assert total.cpu_kwh.central == 3
    assert total.method("cpu") == "mixed"
