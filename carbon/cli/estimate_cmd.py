"""`carbon estimate`: offline CO2e for a region plus energy, or hardware and a duration."""

from __future__ import annotations

import argparse
import json
import sys


def _fraction(text: str) -> float:
    """Utilisation as 0.5 or 50%."""
    value = text.strip()
    number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"utilisation must be between 0 and 1 (or 0%-100%), got {text}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", required=True, help="FR, FRA, US-CA, aws:us-east-1, gcp:europe-west1, azure:westeurope"
    )
    parser.add_argument("--energy-kwh", type=float, help="IT energy already known, in kWh (PUE is applied on top)")
    parser.add_argument("--instance-type", help="cloud instance type, e.g. m5.xlarge, n2-standard-8, Standard_D4s_v5")
    parser.add_argument("--cpus", type=float, help="vCPUs (hardware threads) used")
    parser.add_argument("--cpu-model", help="CPU model, e.g. 'Intel Xeon Gold 6248'")
    parser.add_argument("--memory-gb", type=float, help="memory allocated, GB")
    parser.add_argument("--gpus", type=int, default=0, help="number of GPUs")
    parser.add_argument("--gpu-model", help="GPU model, e.g. A100 SXM4 80GB")
    parser.add_argument("--duration", help="how long it ran: 3h, 90m, 1h30m, 45s, HH:MM:SS")
    parser.add_argument("--cpu-util", type=_fraction, help="average CPU utilisation, 0-1 or 0%%-100%%")
    parser.add_argument("--gpu-util", type=_fraction, help="average GPU utilisation, 0-1 or 0%%-100%%")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--year", type=int, help="price with the intensity of this year")
    when.add_argument("--start", help="price with the intensity at this time (ISO 8601)")
    parser.add_argument("--pue", type=float, help="override the data-centre PUE")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--latex", action="store_true", help="print a LaTeX snippet and BibTeX entry for a paper")


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError
    from carbon.intensity.base import IntensityError
    from carbon.pricing import EstimateError, estimate
    from carbon.regions import UnknownRegion
    from carbon.units import parse_duration_s, parse_time

    try:
        duration_s = parse_duration_s(args.duration) if args.duration is not None else None
        start = parse_time(args.start) if args.start else None
        result = estimate(
            args.region,
            energy_kwh=args.energy_kwh,
            instance_type=args.instance_type,
            cpus=args.cpus,
            cpu_model=args.cpu_model,
            memory_gb=args.memory_gb,
            gpus=args.gpus,
            gpu_model=args.gpu_model,
            duration_s=duration_s,
            cpu_util=args.cpu_util,
            gpu_util=args.gpu_util,
            year=args.year,
            start=start,
            pue=args.pue,
        )
    except (UnknownRegion, EstimateError, IntensityError, ValueError) as error:
        raise UsageError(str(error).strip("'\"")) from None
    from carbon import report

    if args.latex:
        print(report.latex(result))
        return 0
    if args.format == "json":
        json.dump(report.to_json(result), sys.stdout, indent=2)
        print()
        return 0
    print(report.summary(result))
    return 0
