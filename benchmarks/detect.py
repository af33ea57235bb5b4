"""How long detection takes: off the cloud with DMI, off the cloud with probes black-holed, on emulated clouds.

Prints the median of several runs for each scenario side by side with its target and with the
baseline of the same process: reading the local facts alone (DMI + environment), which is the
least any detection can cost. Run: `python benchmarks/detect.py [--runs N]`.
Targets (issue): <20 ms and no network call when DMI rules the clouds out; under the deadline (1 s)
when every probe hangs; <50 ms on an emulated cloud.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
sys.path.insert(0, str(ROOT))

from carbon.providers import detect_environment
from carbon.providers.base import load_providers
from carbon.providers.host import gather

import dmi
from imds_aws import ImdsAws
from imds_azure import ImdsAzure
from metadata_gcp import MetadataGcp


def median_s(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--deadline", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="carbon-detect-bench-"))
    with ExitStack() as stack:
        aws = stack.enter_context(ImdsAws())
        gcp = stack.enter_context(MetadataGcp())
        azure = stack.enter_context(ImdsAzure())
        hole = stack.enter_context(ImdsAws())
        hole.hang = True  # accepts connections, never answers: a black-holed link-local address
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GCE_", "K_", "ECS_", "CARBON_"))}
        base["CARBON_DATA_DIR"] = str(dmi.write_bundle(work / "bundle"))
        os.environ["CARBON_DATA_DIR"] = base["CARBON_DATA_DIR"]
        emulated = {
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": aws.url,
            "GCE_METADATA_HOST": gcp.host,
            "CARBON_AZURE_IMDS_ENDPOINT": azure.url,
        }
        black_holed = {
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": hole.url,
            "GCE_METADATA_HOST": hole.host,
            "CARBON_AZURE_IMDS_ENDPOINT": hole.url,
        }
        providers, errors = load_providers()
        if errors:
            print("provider load errors:", *errors, sep="\n  ")

        def env(dmi_values: dict[str, str] | None, endpoints: dict[str, str]) -> dict[str, str]:
            root = work / ("dmi-" + str(abs(hash(tuple(sorted((dmi_values or {}).items()))))))
            if dmi_values is not None:
                dmi.write_dmi(root, dmi_values)
            return {
                **base,
                **endpoints,
                "CARBON_DMI_ROOT": str(root if dmi_values is not None else work / "no-dmi"),
                "CARBON_REGION": "FR",
            }

        scenarios = [
            ("off-cloud, DMI rules clouds out", env(dmi.LAPTOP, black_holed), 0.020, None),
            ("off-cloud, DMI unreadable, probes black-holed", env(None, black_holed), args.deadline, None),
            ("emulated AWS (DMI + IMDSv2)", env(dmi.AWS_NITRO, emulated), 0.050, "aws"),
            ("emulated GCP (DMI + metadata server)", env(dmi.GCE, emulated), 0.050, "gcp"),
            ("emulated Azure (DMI + IMDS)", env(dmi.AZURE, emulated), 0.050, "azure"),
        ]
        first_started = time.perf_counter()
        detect_environment(args.deadline, environ=scenarios[0][1])
        cold_s = time.perf_counter() - first_started
        baseline_s = median_s(lambda: gather(scenarios[0][1]), args.runs)
        print(f"runs per scenario: {args.runs}; deadline {args.deadline:g} s")
        print(f"baseline (read DMI + environment only): {baseline_s * 1000:.3f} ms")
        print(f"first detection in a fresh process (entry-point scan, imports): {cold_s * 1000:.1f} ms\n")
        print(
            f"{'scenario':<48} {'median ms':>10} {'target ms':>10} {'÷ target':>9} {'÷ baseline':>11}  requests  result"
        )
        for name, environ, target_s, expected in scenarios:
            before = len(aws.requests()) + len(gcp.requests()) + len(azure.requests()) + len(hole.requests())
            runs = args.runs if target_s < 0.5 else max(3, args.runs // 5)
            found = detect_environment(args.deadline, environ=environ, providers=providers)
            elapsed = median_s(
                lambda env=environ: detect_environment(args.deadline, environ=env, providers=providers), runs
            )
            after = len(aws.requests()) + len(gcp.requests()) + len(azure.requests()) + len(hole.requests())
            result = f"{found.provider or 'on-prem'} {found.instance_type or ''}".strip()
            ok = "" if (found.provider == expected) else "  (unexpected provider!)"
            print(
                f"{name:<48} {elapsed * 1000:>10.2f} {target_s * 1000:>10.0f} {elapsed / target_s:>9.2f} "
                f"{elapsed / baseline_s:>11.1f}  {(after - before) // (runs + 1):>8}  {result}{ok}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
