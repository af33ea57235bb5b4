"""`carbon estimate`: offline CO2e for a region plus energy, or hardware and a duration."""

from __future__ import annotations

import argparse

from carbon.cli import options

HELP = "offline CO2e for a region and energy, or hardware and a duration"
EXAMPLES = """examples:
  carbon estimate --region FR --energy-kwh 12
  carbon estimate --region aws:us-east-1 --instance-type m5.xlarge --duration 3h
  carbon estimate --region DE --cpus 16 --memory-gb 64 --gpus 2 --gpu-model A100 --duration 1h30m --start 2024-03-01T14:00Z
  carbon estimate --region gcp:europe-west1 --energy-kwh 40 --format json"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        required=True,
        type=options.text,
        help="where it ran: FR, FRA, US-CA, aws:us-east-1, gcp:europe-west1, azure:westeurope",
    )
    parser.add_argument(
        "--energy-kwh",
        type=options.number(0.0),
        metavar="KWH",
        help="IT energy already known, in kWh (PUE is applied on top), e.g. 12.5",
    )
    parser.add_argument("--instance-type", type=options.text, help="cloud instance type, e.g. m5.xlarge, n2-standard-8")
    parser.add_argument(
        "--cpus", type=options.number(0.0, exclusive=True), metavar="N", help="vCPUs (hardware threads) used, e.g. 16"
    )
    parser.add_argument(
        "--cpu-model", type=options.text, metavar="MODEL", help="CPU model, e.g. 'Intel Xeon Gold 6248'"
    )
    parser.add_argument(
        "--threads-per-chip",
        type=options.number(0.0, exclusive=True),
        metavar="N",
        help="hardware threads of one chip of --cpu-model (overrides the table; the job is charged --cpus / this)",
    )
    parser.add_argument(
        "--memory-gb",
        type=options.number(0.0),
        metavar="GB",
        help="memory allocated, decimal GB (10^9 bytes; 16 GiB = 17.18 GB), e.g. 64",
    )
    parser.add_argument(
        "--gpus", type=options.count(0), default=0, metavar="N", help="number of GPUs, e.g. 2 (default 0)"
    )
    parser.add_argument("--gpu-model", type=options.text, metavar="MODEL", help="GPU model, e.g. 'A100 SXM4 80GB'")
    parser.add_argument(
        "--duration",
        type=options.duration_s,
        metavar="TIME",
        help="how long it ran: 3h, 90m, 1h30m, 45 (seconds), HH:MM:SS",
    )
    parser.add_argument("--cpu-util", type=options.fraction, metavar="U", help="average CPU utilisation: 0.5 or 50%%")
    parser.add_argument("--gpu-util", type=options.fraction, metavar="U", help="average GPU utilisation: 0.9 or 90%%")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--year", type=options.year, help="price with the intensity of this year, e.g. 2023")
    when.add_argument(
        "--start",
        type=options.time,
        metavar="TIME",
        help="price with the intensity at this time, e.g. 2024-03-01T14:00Z",
    )
    parser.add_argument(
        "--pue", type=options.setting("pue"), help="data-centre PUE, 1.0 to 3.0, e.g. 1.2; default: the provider's"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--format", choices=("text", "json"), default="text", help="text for people (default) or json for programs"
    )
    output.add_argument("--latex", action="store_true", help="print a LaTeX snippet and BibTeX entry for a paper")
    add_embodied_arguments(parser)


def add_embodied_arguments(parser: argparse.ArgumentParser) -> None:
    """--embodied and --lifetime-years, shared by estimate, run and batch."""
    parser.add_argument(
        "--embodied",
        action="store_true",
        help="also report the hardware's embodied (manufacturing) emissions, apart from the operational CO2e",
    )
    parser.add_argument(
        "--lifetime-years",
        type=options.number(0.0, exclusive=True),
        default=None,
        metavar="YEARS",
        help="hardware lifetime for --embodied (default: the embodied_lifetime_years setting, else CCF's 4 years)",
    )


def lifetime_years(args: argparse.Namespace) -> float | None:
    """--lifetime-years, else the embodied_lifetime_years setting; None means the table's default."""
    if args.lifetime_years is not None:
        return args.lifetime_years
    from carbon.config import load

    return load().embodied_lifetime_years


def run(args: argparse.Namespace) -> int:
    from carbon.cli import UsageError
    from carbon.intensity.base import IntensityError
    from carbon.pricing import estimate

    try:
        result = estimate(
            args.region,
            energy_kwh=args.energy_kwh,
            instance_type=args.instance_type,
            cpus=args.cpus,
            cpu_model=args.cpu_model,
            memory_gb=args.memory_gb,
            gpus=args.gpus,
            gpu_model=args.gpu_model,
            duration_s=args.duration,
            cpu_util=args.cpu_util,
            gpu_util=args.gpu_util,
            year=args.year,
            start=args.start,
            pue=args.pue,
            threads_per_chip=args.threads_per_chip,
        )
    except IntensityError as error:  # the region and time the user named have no intensity
        raise UsageError(str(error)) from None
    if args.embodied:
        from carbon.embodied import with_embodied

        result = with_embodied(result, lifetime_years(args))
    from carbon import report

    if args.latex:
        print(report.latex(result))
        return 0
    if args.format == "json":
        from carbon.cli.output import print_json

        print_json(report.to_json(result))
        return 0
    print(report.summary(result))
    return 0
