"""One arithmetic: a batch row equals `carbon.estimate` for the same job, on central, low and high.

Hypothesis draws the hardware path (instance type, CPU model, vCPU count only, GPUs, measured
energy), the utilisation (known or not), the region and the time; the batch engine prices the
job in a one-row log, `carbon.estimate` prices it directly, and the two must agree to float
rounding. Jobs stay inside one clock hour so that an hourly zone's batch mean over the job is
the hour `carbon.estimate` looks up. Examples are bounded so the test stays a few seconds in CI.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carbon
from carbon.batch.engine import Settings, estimate_frame
from carbon.batch.factors import Factors
from carbon.batch.hardware import HardwareMap, HardwareSpec
from carbon.batch.schema import conform

INSTANCES = {
    "aws:us-east-1": ["c5.large", "m7a.large", "t3.medium", "p3.2xlarge", "g5.xlarge"],
    "aws:ca-central-1": ["c5.large", "m5.xlarge"],
    "gcp:europe-west1": ["n2-standard-4", "e2-medium", "a2-highgpu-1g"],
    "azure:westeurope": ["Standard_D4s_v5", "Standard_NC6s_v3"],
}
CPU_MODELS = ["Intel Xeon Gold 6248", "AMD EPYC 7763", "Imaginary CPU 9000"]  # the last: unknown, default path
GPU_MODELS = ["NVIDIA A100 40GB PCIe", "A100 PCIe 80GB", None, "Imaginary GPU"]
REGIONS = ["FR", "US-CA", "IN-KA", "CA-QC", "US-BA-PJM", "US-BA-CISO", *INSTANCES]
FACTORS = Factors(hardware_map=HardwareMap(partitions={m: HardwareSpec(cpu_model=m) for m in CPU_MODELS}))
ENDS = ("", "_low", "_high")

fractions = st.one_of(st.none(), st.floats(0.0, 1.0))


@st.composite
def jobs(draw: st.DrawFn) -> dict:
    path = draw(st.sampled_from(["instance", "cpu_model", "vcpus", "gpus", "measured"]))
    region = draw(st.sampled_from(list(INSTANCES) if path == "instance" else REGIONS))
    hour = datetime(2019, 1, 1, tzinfo=timezone.utc) + timedelta(hours=draw(st.integers(0, 6 * 8760)))
    offset_s = draw(st.integers(0, 3000))
    job = {
        "path": path,
        "region": region,
        "start": hour + timedelta(seconds=offset_s),
        "duration_s": float(draw(st.integers(60, 3600 - offset_s))),
        "cpus": float(draw(st.integers(1, 64))),
        "memory_gb": draw(st.floats(0.0, 512.0)),
        "cpu_util": draw(fractions),
        "gpu_util": draw(fractions),
    }
    if path == "instance":
        job["instance_type"] = draw(st.sampled_from(INSTANCES[region]))
        job["cpus"] = draw(st.one_of(st.none(), st.just(job["cpus"])))
    elif path == "cpu_model":
        job["cpu_model"] = draw(st.sampled_from(CPU_MODELS))
    elif path == "gpus":
        job["gpus"] = draw(st.integers(1, 8))
        job["gpu_model"] = draw(st.sampled_from(GPU_MODELS))
    elif path == "measured":
        job["energy_kwh"] = draw(st.floats(0.0, 1000.0))
    return job


def _batch_row(job: dict) -> pd.Series:
    nan = np.nan
    frame = conform(
        pd.DataFrame(
            {
                "line": [1],
                "job_id": ["j"],
                "start": [pd.Timestamp(job["start"])],
                "end": [pd.Timestamp(job["start"] + timedelta(seconds=job["duration_s"]))],
                "region": [job["region"]],
                "hardware": [job.get("instance_type")],
                "partition": [job.get("cpu_model")],
                "cpus": [job["cpus"] if job["cpus"] is not None else nan],
                "memory_gb": [job["memory_gb"]],
                "cpu_util": [job["cpu_util"] if job["cpu_util"] is not None else nan],
                "gpu_util": [job["gpu_util"] if job["gpu_util"] is not None else nan],
                "gpus": [float(job.get("gpus", nan))],
                "gpu_model": [job.get("gpu_model")],
                "measured_kwh": [job.get("energy_kwh", nan)],
                "state": ["COMPLETED"],
            }
        )
    )
    out = estimate_frame(frame, Settings(granularity="hour"), FACTORS)
    assert out["reject_reason"].isna().all(), out["reject_reason"].iloc[0]
    return out.iloc[0]


def _estimate(job: dict) -> carbon.Estimate:
    common = {"duration_s": job["duration_s"], "start": job["start"]}
    if job["path"] == "measured":
        return carbon.estimate(job["region"], energy_kwh=job["energy_kwh"], **common)
    hardware = {
        "instance_type": job.get("instance_type"),
        "cpu_model": job.get("cpu_model"),
        "cpus": job["cpus"],
        "memory_gb": job["memory_gb"],
        "gpus": job.get("gpus", 0),
        "gpu_model": job.get("gpu_model"),
    }
    return carbon.estimate(job["region"], cpu_util=job["cpu_util"], gpu_util=job["gpu_util"], **hardware, **common)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs())
def test_batch_row_equals_the_offline_estimate(job: dict) -> None:
    from hypothesis import event

    event(job["path"])
    row, single = _batch_row(job), _estimate(job)
    for name, bounds in (
        ("co2e_kg", single.co2e_kg),
        ("energy_kwh", single.energy_kwh),
        ("intensity_g_per_kwh", single.intensity_g_per_kwh),
        ("pue", single.pue),
    ):
        batch = [row[name + end] for end in ENDS]
        assert batch == pytest.approx(bounds.as_tuple(), rel=1e-9, abs=1e-15), name
    assert row["intensity_basis"] == single.intensity_basis
    parts = single.energy
    for name, bounds in (("cpu_kwh", parts.cpu_kwh), ("ram_kwh", parts.ram_kwh), ("gpu_kwh", parts.gpu_kwh)):
        assert row[name] == pytest.approx(bounds.central, rel=1e-9, abs=1e-15), name
