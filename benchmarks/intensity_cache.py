"""Cost of a cached live-intensity lookup, against baselines run in the same process.

    python benchmarks/intensity_cache.py [--lookups 2000]

Measures the median time of `CachedSource.at(zone, hour)` when the hour is in the shared disk
cache (target: under 100 µs), and prints its ratio to (a) an uncached lookup that goes to a
loopback copy of the Electricity Maps API and (b) a bundled-table lookup (`BundledSource.at`,
in memory after the first call). Uses the test bundle and API double from tests/fixtures, so it
needs no network and no key.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def median_us(call, arguments) -> float:
    samples = []
    for argument in arguments:
        started = time.perf_counter_ns()
        call(argument)
        samples.append((time.perf_counter_ns() - started) / 1000.0)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()

    from fixtures.electricitymaps_api import ElectricityMapsApi
    from fixtures.intensity_bundle import clear_caches, make_bundle

    with tempfile.TemporaryDirectory() as folder:
        os.environ["CARBON_DATA_DIR"] = str(make_bundle(Path(folder) / "bundle"))
        clear_caches()
        from carbon.intensity.cache import CachedSource, IntensityCache
        from carbon.intensity.electricitymaps import ElectricityMapsSource
        from carbon.intensity.static import BundledSource

        day = datetime(2024, 3, 1, tzinfo=timezone.utc)
        hours = [day + timedelta(hours=h) for h in range(24 * 10)]
        server = ElectricityMapsApi().start()
        for hour in hours:
            server.set_hour("FR", hour, 40.0 + hour.hour)
        try:
            live = ElectricityMapsSource("em-test-token", base_url=server.base)
            source = CachedSource(live, IntensityCache(Path(folder) / "cache"))
            source.series("FR", hours[0], hours[-1] + timedelta(hours=1))  # fill the cache: one request
            lookups = [hours[i % len(hours)] + timedelta(minutes=17) for i in range(args.lookups)]
            cached_us = median_us(lambda t: source.at("FR", t), lookups)
            uncached_us = median_us(lambda t: live.at("FR", t), lookups[: max(20, args.lookups // 20)])
            bundled = BundledSource()
            bundled.at("FR", lookups[0])  # load the tables once
            bundled_us = median_us(lambda t: bundled.at("FR", t), lookups)
        finally:
            server.stop()
            source.cache.close()

    print(
        f"cached hour lookup (disk cache hit)   median {cached_us:9.1f} µs   target < 100 µs: "
        f"{'met' if cached_us < 100 else 'NOT met'}"
    )
    print(
        f"uncached live lookup (loopback API)   median {uncached_us:9.1f} µs   ratio uncached/cached = "
        f"{uncached_us / cached_us:6.1f}x"
    )
    print(
        f"bundled lookup (in-memory tables)     median {bundled_us:9.1f} µs   ratio cached/bundled  = "
        f"{cached_us / bundled_us:6.1f}x"
    )


if __name__ == "__main__":
    main()
