"""GPU check for a machine with an NVIDIA GPU: NVML's energy counter against integrated power, under load.

For each selected GPU, over the same `--seconds` of a matrix-multiply load (torch on CUDA if it is
installed; otherwise the GPU stays idle and the script says so), it prints:
- the energy from the total-energy counter (`nvmlDeviceGetTotalEnergyConsumption`, Volta+), as
  carbon's NVML meter reads it;
- the energy from board power (`nvmlDeviceGetPowerUsage`) integrated by trapezoids every
  `--poll` seconds, as carbon does on pre-Volta GPUs;
- their ratio, mean power, and the energy a full `carbon.track()` run recorded for the same load.
Runs in well under 3 minutes (default 30 s of load). Exit status 1 when no GPU can be read.

    python benchmarks/gpu_check.py --seconds 30 --gpus 0
"""

from __future__ import annotations

import argparse
import sys
import threading
import time


def _load(stop: threading.Event, gpu_index: int) -> str:
    """Matrix multiplies on the GPU until `stop`; returns what load ran."""
    try:
        import torch
    except ImportError:
        stop.wait()
        return "none: torch is not installed, so the GPU was left idle (install torch for a loaded comparison)"
    if not torch.cuda.is_available():
        stop.wait()
        return "none: torch sees no CUDA device, so the GPU was left idle"
    device = torch.device(f"cuda:{gpu_index}")
    a = torch.randn(8192, 8192, device=device, dtype=torch.float16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.float16)
    count = 0
    while not stop.is_set():
        for _ in range(20):
            a @ b
        torch.cuda.synchronize(device)
        count += 20
    return f"torch fp16 8192x8192 matmul x {count}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load (default 30)")
    parser.add_argument("--poll", type=float, default=0.1, help="power sampling period for the integration (s)")
    parser.add_argument("--gpus", default=None, help="CUDA_VISIBLE_DEVICES-style list (default: all)")
    args = parser.parse_args()

    from carbon.meters.nvml import Gpu, NvmlMeter, open_nvml

    counter_meter = open_nvml(args.gpus)
    if not counter_meter.available():
        print(f"no GPU to check: {counter_meter.reason}")
        return 1
    import pynvml

    power_meter = NvmlMeter(
        pynvml, [Gpu(g.index, g.handle, g.name, uses_counter=False) for g in counter_meter.gpus], []
    )
    for note in counter_meter.notes():
        print(f"note: {note}")
    per_gpu_counter = {g.index: 0.0 for g in counter_meter.gpus}
    per_gpu_power = {g.index: 0.0 for g in counter_meter.gpus}

    import carbon

    tracker = carbon.track(
        region="FR",
        interval_s=5.0,
        write=False,
        detect=False,
        gpu_ids=args.gpus,
        on_note=lambda text: print(f"tracker note: {text}"),
    )
    tracker.start()
    stop = threading.Event()
    loads: list[str] = []
    first = counter_meter.gpus[0].index
    worker = threading.Thread(target=lambda: loads.append(_load(stop, first)), daemon=True)
    started = time.monotonic()
    worker.start()
    counter_meter.take(), power_meter.take()  # baselines at the load's start
    while time.monotonic() - started < args.seconds:
        time.sleep(args.poll)
        power_meter.poll()
    counter_meter.take(), power_meter.take()
    for gpu in counter_meter.gpus:
        per_gpu_counter[gpu.index] = gpu.last_taken_j
    for gpu in power_meter.gpus:
        per_gpu_power[gpu.index] = gpu.last_taken_j
    elapsed = time.monotonic() - started
    stop.set()
    worker.join(60)
    estimate = tracker.stop()
    print(f"load: {loads[0] if loads else 'unknown'}; {elapsed:.1f} s; power sampled every {args.poll:g} s")
    print(f"{'gpu':<4} {'name':<28} {'counter J':>11} {'integrated J':>13} {'ratio':>7} {'mean W':>8}")
    for gpu in counter_meter.gpus:
        counter_j, power_j = per_gpu_counter[gpu.index], per_gpu_power[gpu.index]
        ratio = power_j / counter_j if counter_j else float("nan")
        method = "" if gpu.uses_counter else "  (no counter on this GPU: both columns are integrated power)"
        print(
            f"{gpu.index:<4} {gpu.name[:28]:<28} {counter_j:>11.1f} {power_j:>13.1f} {ratio:>7.3f} "
            f"{counter_j / elapsed:>8.1f}{method}"
        )
    tracked_j = estimate.energy.gpu_kwh.central * 3.6e6
    print(
        f"carbon.track() over the same load (start to stop, a little longer): {tracked_j:.1f} J GPU, "
        f"method {estimate.energy.method('gpu')}, CO2e {estimate.co2e_kg.central * 1000:.3g} g at FR intensity"
    )
    counter_meter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
