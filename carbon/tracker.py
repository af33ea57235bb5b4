"""Live tracking: `with carbon.track():`, `@carbon.track()`, or `Tracker(...).start()` / `.stop()`.

The pieces, each small and separate:
- meters (carbon.meters): RAPL and NVML where readable, the power model for the rest;
- the sampler loop (`_Sampler`): polls the meters often enough for their counters and cuts an
  interval every `interval_s` and at every hour boundary, so each interval has one hour's intensity;
- the environment (`resolve_environment`): where (region, else provider detection under a short
  deadline, else the world average with a loud warning and a wide range) and on what hardware;
- pricing (`IntervalPricer`): each interval's energy through `carbon.pricing.price` at the
  intensity for its own hour, from the non-blocking intensity prefetcher;
- sinks (carbon.sinks): the run log and the runs CSV, opened at start so that bad paths fail early.

Machine mode measures the machine. Process mode attributes a share of it to a process tree (see
carbon.meters.attribution): stated as attribution in every record, never as a measurement.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from carbon.errors import CarbonError, UserInputError
from carbon.meters.base import Measurement, NullMeter
from carbon.model import Bounds, Energy, Estimate, Hardware, Location, Source, Usage
from carbon.track_options import TrackOptions, method_parameters_of, parameters_of
from carbon.units import J_PER_KWH, floor_hour

logger = logging.getLogger(__name__)
# When every sink reads its records after the fact (the run log, the runs CSV), intervals of 1 s or
# more are read as they end but priced and written several at once, before the oldest of them began
# HOLD_S ago: pricing and writing ten 1 s intervals together costs less than one at a time, every
# second. Equal to the run log's fdatasync period (a power cut loses as much). Intervals over half of
# it are written as they end, and so are sub-second ones (asked for to watch a run closely).
HOLD_S = 10.0
WORLD_WARNING = (
    "no location known (no --region, CARBON_REGION or detected cloud region): priced at the WORLD "
    "average intensity with a range from the lowest to the highest national figure; set --region"
)


class MeasurementFailed(CarbonError):
    """The run could not be priced (its setup or its summary failed). The command itself ran; the sinks
    were closed with what was measured and this reason."""


def _default_note(text: str) -> None:
    """Where a run's warnings go as they happen, unless the caller gives `on_note` (they stay in the result too)."""
    logger.warning("%s", text)


def utc_iso(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z: "2026-11-29T04:00:00.000000Z"."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    if moment.year < 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # the same text, a fifth of the time


# The sampler's clock: whole microseconds since the Unix epoch, what datetime.now(timezone.utc) reads
# (the same clock, floored the same way), as a plain int: the loop that wakes every second compares
# and adds ints, and the datetimes the records need are made when the records are written.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US_PER_HOUR = 3_600_000_000
_ONE_US = timedelta(microseconds=1)


def now_us() -> int:
    """datetime.now(timezone.utc) as microseconds since the epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact: no float on the way)."""
    return (moment - EPOCH) // _ONE_US


def from_us(moment_us: int) -> datetime:
    """The UTC datetime `moment_us` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=moment_us)


def seconds_us(seconds: float) -> int:
    """A length in seconds as whole microseconds, rounded as timedelta(seconds=...) rounds it."""
    return timedelta(seconds=seconds) // _ONE_US


def interval_end_us(start_us: int, interval_us: int) -> int:
    """The end of an interval starting at `start_us`: `interval_us` later, or the next UTC hour
    boundary if sooner (UTC hours are whole multiples of an hour since the epoch)."""
    return min(start_us + interval_us, start_us - start_us % US_PER_HOUR + US_PER_HOUR)


def interval_end(start: datetime, interval_s: float) -> datetime:
    """The end of an interval starting at `start`: `interval_s` later, or the next hour boundary if sooner."""
    return from_us(interval_end_us(to_us(start), seconds_us(interval_s)))


# --- where and on what -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """Where the run is and on what, as detection (or the given region) found it, with the
    warnings and evidence that the run's record and `carbon detect` repeat."""

    location: Location
    hardware: Hardware
    intensity_range: Bounds | None  # a forced wide range (unknown location), else None
    warnings: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


def resolve_region(code: str) -> Location:
    """A region code as `carbon estimate` takes it, or a grid zone the bundled tables know (US-BA-CISO)."""
    from carbon.regions import UnknownRegion, resolve

    try:
        return resolve(code)
    except UnknownRegion:
        from carbon.intensity.static import has_hourly

        zone = code.upper()
        if has_hourly(zone):  # a balancing authority of the hourly table, e.g. US-BA-CISO
            return Location(region=zone, zone=zone, country=zone[:2])
        raise


def local_hardware() -> Hardware:
    """This machine's hardware as the on-premises provider reports it (CPU model, memory, GPUs)."""
    from carbon.providers.machine import local_hardware as host_hardware

    return host_hardware()[0]


def world_range(year: int) -> Bounds:
    """The WORLD value with a range from the lowest to the highest national intensity of the latest
    year up to `year` (zeros in the table are reporting gaps, not zero-carbon grids, and are skipped)."""
    from carbon.bundle import table
    from carbon.intensity.static import BundledSource

    world = BundledSource().year("WORLD", year).intensity_g_per_kwh.central
    latest: dict[str, tuple[int, float]] = {}
    for row in table("countries"):
        code, row_year, value = row["iso2"], int(row["year"]), float(row["intensity_g_per_kwh"])
        if len(code) == 2 and value > 0 and row_year <= year and row_year >= latest.get(code, (0, 0.0))[0]:
            latest[code] = (row_year, value)
    values = [value for _, value in latest.values()]
    return Bounds(world, min([world, *values]), max([world, *values]))


def resolve_environment(region: str | None, detect: bool, deadline_s: float | None) -> Environment:
    """Region given: use it. Else provider detection under `deadline_s`. Else WORLD, loudly."""
    warnings: list[str] = []
    evidence: tuple[str, ...] = ()
    detection = None
    if detect:
        try:
            from carbon.providers import detect_environment

            detection = detect_environment(deadline_s, region=region)
        except CarbonError as error:  # e.g. a bad setting; each provider's own faults are isolated inside
            warnings.append(f"provider detection failed ({type(error).__name__}: {error})")
    hardware = None
    location = resolve_region(region) if region else None
    if detection is not None:
        evidence = detection.evidence
        match = detection.hardware(live=False)
        hardware = match.hardware
        warnings.extend(match.warnings)
        if location is None:
            try:
                location = detection.location()
            except CarbonError as error:
                warnings.append(f"detected region {detection.region!r} has no location ({error})")
    hardware = hardware or local_hardware()
    if location is None:
        from carbon.regions import WORLD

        warnings.append(WORLD_WARNING)
        return Environment(WORLD, hardware, world_range(datetime.now(timezone.utc).year), tuple(warnings), evidence)
    return Environment(location, hardware, None, tuple(warnings), evidence)


# --- pricing -------------------------------------------------------------------------------------


class IntervalPricer:
    """Prices each interval at the intensity of its own hour; never waits on the network."""

    def __init__(self, environment: Environment, config: Any) -> None:
        from carbon.pricing import pue_for

        self.environment = environment
        self.location = environment.location
        now = datetime.now(timezone.utc)
        self.pue, self.pue_source = pue_for(self.location, now.year, config.pue)
        self.zone = self.location.region if self.location.provider else self.location.zone
        self.prefetcher = None
        if any(name != "bundled" for name in config.intensity_sources):  # live sources: fetched off this thread
            from carbon.intensity.chain import build_chain
            from carbon.intensity.prefetch import IntensityPrefetcher

            self.prefetcher = IntensityPrefetcher(build_chain(config)).start()
            self.prefetcher.request(self.zone, now)
        self._static: dict[datetime, Any] = {}  # hour -> bundled value, which never changes during a run
        self._checked: Any = None  # the last intensity value found plausible

    def intensity(self, moment: datetime) -> Any:
        if self.prefetcher is not None:
            return self._lookup(moment)
        hour = floor_hour(moment)
        value = self._static.get(hour)
        if value is None:
            value = self._static[hour] = self._lookup(moment)
        return value

    def _bundled(self, moment: datetime) -> Any:
        """What the offline estimate uses: provider-published for cloud regions, else the zone's table."""
        from carbon.pricing import intensity_for

        return intensity_for(self.location, start=moment)

    def _lookup(self, moment: datetime) -> Any:
        from carbon.intensity.base import IntensityError

        try:
            value = self.prefetcher.get(self.zone, moment) if self.prefetcher is not None else self._bundled(moment)
            return self._forced(value)
        except IntensityError as error:
            if not self.location.country or self.location.country == self.location.zone:
                raise
            # An hourly-only zone (balancing authority) outside its hourly table: its country's value.
            from carbon.intensity.static import BundledSource

            value = BundledSource().at(self.location.country, moment)
            return replace(
                value,
                source=replace(value.source, detail=f"{error}; {self.location.country} used: {value.source.detail}"),
            )

    def _forced(self, value: Any) -> Any:
        wide = self.environment.intensity_range
        if wide is None:
            return value
        return replace(
            value,
            intensity_g_per_kwh=Bounds(value.intensity_g_per_kwh.central, wide.low, wide.high),
            source=replace(value.source, method="default", detail=WORLD_WARNING),
        )

    def price(self, energy: Energy, start: datetime, end: datetime) -> Estimate:
        """One interval's Estimate (see `priced`)."""
        return self.priced(energy, start, end)[0]

    def priced(self, energy: Energy, start: datetime, end: datetime) -> tuple[Estimate, Any]:
        """One interval's Estimate and the intensity value behind it. Its sources are the intensity
        value's only: the run summary carries the rest. A value that cannot price (outside the
        plausible range, or refused by the model) is replaced by the bundled one, with the reason."""
        from carbon.pricing import price

        usage = Usage(duration_s=max(0.0, (end - start).total_seconds()), start=start)
        value = self.intensity(start)
        try:
            if value is not self._checked:  # a value (frozen) checked once, not at every interval of its hour
                _check_intensity(value)
                self._checked = value
            return price(energy, self.location, value, self.pue, usage=usage), value
        except ValueError as error:
            if self.prefetcher is None:
                raise
            fallback = self._forced(self._bundled(start))
            reason = f"{value.source.dataset} value refused ({error}); bundled value used"
            fallback = replace(fallback, source=replace(fallback.source, detail=f"{reason}: {fallback.source.detail}"))
            return price(energy, self.location, fallback, self.pue, usage=usage), fallback

    def close(self) -> None:
        if self.prefetcher is not None:
            self.prefetcher.stop()


def _check_intensity(value: Any) -> None:
    from carbon.intensity.base import implausible

    reason = implausible(value.intensity_g_per_kwh.as_tuple())
    if reason:
        raise ValueError(reason)


# --- totals --------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Running sums over intervals; the run's summary Estimate is built from them."""

    energy: Energy = field(default_factory=Energy)
    facility_kwh: Bounds = field(default_factory=lambda: Bounds.exact(0.0))
    co2e_kg: Bounds = field(default_factory=lambda: Bounds.exact(0.0))
    duration_s: float = 0.0
    intervals: int = 0
    granularities: set[str] = field(default_factory=set)
    # basis -> (facility kWh, CO2e kg, intervals): CO2e is only ever summed within one basis.
    by_basis: dict[str, tuple[Bounds, Bounds, int]] = field(default_factory=dict)
    unpriced: Energy = field(default_factory=Energy)  # IT energy of intervals that could not be priced
    unpriced_intervals: int = 0

    def add(
        self, estimate: Estimate, granularity: str, energy_kwh: Bounds | None = None, co2e_kg: Bounds | None = None
    ) -> None:
        """`energy_kwh` and `co2e_kg`, when given, are the estimate's own, computed once by the caller
        (each property access recomputes them, and the tracker needs them for the record too)."""
        energy_kwh = estimate.energy_kwh if energy_kwh is None else energy_kwh
        co2e_kg = estimate.co2e_kg if co2e_kg is None else co2e_kg
        self.energy = self.energy + estimate.energy
        self.facility_kwh = self.facility_kwh + energy_kwh
        self.co2e_kg = self.co2e_kg + co2e_kg
        self.duration_s += estimate.usage.duration_s if estimate.usage else 0.0
        self.intervals += 1
        self.granularities.add(granularity)
        basis = estimate.intensity_basis or "basis unknown"
        kwh, co2e, count = self.by_basis.get(basis, _NOTHING_YET)
        self.by_basis[basis] = (kwh + energy_kwh, co2e + co2e_kg, count + 1)

    def basis_report(self) -> dict[str, dict[str, float]]:
        """Per basis: facility energy, CO2e (every end) and the intervals priced on it."""
        return {
            basis: {
                "energy_kwh": kwh.central,
                "co2e_kg": co2e.central,
                "co2e_kg_low": co2e.low,
                "co2e_kg_high": co2e.high,
                "intervals": count,
            }
            for basis, (kwh, co2e, count) in sorted(self.by_basis.items())
        }

    def add_unpriced(self, energy: Energy, duration_s: float) -> None:
        self.unpriced = self.unpriced + energy
        self.unpriced_intervals += 1
        self.duration_s += duration_s
        self.intervals += 1

    def intensity(self, fallback: Bounds) -> Bounds:
        """The energy-weighted intensity of the run, so that energy x PUE x intensity = the summed CO2e."""

        def ratio(co2e: float, energy: float, default: float) -> float:
            return co2e * 1000.0 / energy if energy > 0 else default

        central = ratio(self.co2e_kg.central, self.facility_kwh.central, fallback.central)
        low = ratio(self.co2e_kg.low, self.facility_kwh.low, fallback.low)
        high = ratio(self.co2e_kg.high, self.facility_kwh.high, fallback.high)
        return Bounds(central, min(low, central), max(high, central))


_NOTHING_YET = (Bounds.exact(0.0), Bounds.exact(0.0), 0)  # a basis's sums before its first interval


def interval_fields(estimate: Estimate, energy_kwh: Bounds, co2e_kg: Bounds) -> dict[str, Any]:
    """`estimate.to_dict()` less its sources and warnings (the run summary carries them), in the same
    key order, built directly: to_dict's sources, warnings and recomputed totals are most of an
    interval's cost, and the tracker pays it every interval."""
    if estimate.extra:  # not what the pricer returns; kept exact all the same
        record = estimate.to_dict()
        for key in ("sources", "warnings"):
            record.pop(key, None)
        return record
    intensity, pue = estimate.intensity_g_per_kwh, estimate.pue
    return {
        "energy_kwh": energy_kwh.central,
        "energy_kwh_low": energy_kwh.low,
        "energy_kwh_high": energy_kwh.high,
        "co2e_kg": co2e_kg.central,
        "co2e_kg_low": co2e_kg.low,
        "co2e_kg_high": co2e_kg.high,
        "intensity_g_per_kwh": intensity.central,
        "intensity_g_per_kwh_low": intensity.low,
        "intensity_g_per_kwh_high": intensity.high,
        "intensity_basis": estimate.intensity_basis,
        "pue": pue.central,
        "pue_low": pue.low,
        "pue_high": pue.high,
        "location": estimate.location.to_dict(),
        "breakdown": estimate.energy.breakdown(),
        "hardware": None,  # the caller's constant hardware dict
        "duration_s": None,  # the caller's interval length
    }


def energy_from(measurements: Sequence[Measurement], shares: dict[str, float] | None) -> Energy:
    """Joules per component (attributed share in process mode) as an Energy in kWh with its methods."""
    totals: dict[str, Measurement] = {}
    for item in measurements:
        totals[item.component] = totals[item.component] + item if item.component in totals else item
    parts = {}
    for component, item in totals.items():
        share = 1.0 if shares is None else shares.get(component, 1.0)
        parts[f"{component}_kwh"] = item.energy_j.scale(share / J_PER_KWH)
    methods = tuple(sorted((component, item.method) for component, item in totals.items()))
    return Energy(**parts, methods=methods)


# --- the tracker ---------------------------------------------------------------------------------


class Tracker:
    """Measures (or models) the energy of a stretch of work and prices it; see the module docstring.

    Takes the fields of `carbon.track_options.TrackOptions` as keyword arguments (its signature is
    theirs, for type checkers and help()); `options` keeps them.
    """

    @method_parameters_of(TrackOptions)
    def __init__(self, **options: Any) -> None:
        self._configure(TrackOptions(**options))

    @classmethod
    def from_options(cls, options: TrackOptions) -> Tracker:
        """A tracker for options already gathered (the decorator starts one per call this way)."""
        tracker = cls.__new__(cls)
        tracker._configure(options)
        return tracker

    def _configure(self, options: TrackOptions) -> None:
        from carbon.config import load
        from carbon.sinks.integrations import integration_sinks

        self.options = options
        self.config = load(options.settings())
        if not self.config.interval_s > 0:
            raise UserInputError(f"interval must be a positive number of seconds, got {self.config.interval_s:g}")
        if self.config.pue is not None:  # out of range fails now, not when the first interval is priced
            from carbon.pricing import pue_for
            from carbon.regions import WORLD

            pue_for(WORLD, override=self.config.pue)
        self.mode, self.pid, self.gpu_ids = options.mode, options.pid, options.gpu_ids
        self.detect, self.command = options.detect, options.command
        self.on_note = options.on_note or _default_note
        self.sinks = list(options.sinks) if options.sinks is not None else self._file_sinks(options.write)
        self.sinks += integration_sinks(
            mlflow=options.mlflow,
            comet=options.comet,
            prometheus_port=options.prometheus_port,
            comet_auto=self.config.comet_auto,
        )
        self.embodied = options.embodied
        # os.urandom is what secrets.token_hex reads; importing secrets (hmac, hashlib) cost ~5 ms per start.
        self.run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(3).hex()
        self.estimate: Estimate | None = None
        self._sampler: _Sampler | None = None

    def _file_sinks(self, write: bool) -> list[Any]:
        if not write:
            if self.config.server_url:
                raise UserInputError("uploading to a server needs the run log (write=True): the log is its spool")
            return []
        from carbon.sinks.jsonl import JsonlSink
        from carbon.sinks.summary_csv import CsvSummarySink

        run_log = JsonlSink(self.config.output_dir)
        sinks: list[Any] = [run_log, CsvSummarySink(self.config.output_dir)]
        if self.config.server_url:
            from carbon.sinks.server import ServerSink

            token = self.config.server_token or ""
            sinks.append(ServerSink(self.config.server_url, token, run_log, on_note=self.on_note))
        return sinks

    @property
    def run_log(self) -> str | None:
        for sink in self.sinks:
            if getattr(sink, "path", None) is not None and str(sink.path).endswith(".jsonl"):
                return str(sink.path)
        return None

    def start(self) -> Tracker:
        if self._sampler is not None:
            raise RuntimeError("this tracker is already running; a Tracker measures one run")
        if self.config.region:
            resolve_region(self.config.region)  # a typo fails now, not after the work
        self._sampler = _Sampler(self)
        self._sampler.start()
        return self

    def stop(self, exit_code: int | None = None) -> Estimate:
        if self._sampler is None:
            raise RuntimeError("stop() called on a tracker that was not started")
        if self.estimate is None:
            self.estimate = self._sampler.stop(exit_code)
            for sink in self.sinks:
                finish = getattr(sink, "finish", None)  # sinks that need the Estimate itself (LaTeX)
                if finish is not None:
                    finish(self.estimate)
        return self.estimate

    @contextmanager
    def task(self, name: str) -> Iterator[None]:
        """Label the work inside: intervals are cut at the task's edges and totals kept per task."""
        if self._sampler is None:
            raise RuntimeError("start the tracker before opening a task")
        previous = self._sampler.set_task(name)
        try:
            yield
        finally:
            self._sampler.set_task(previous)

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: object) -> None:
        """The measured code's outcome wins: a measurement that fails is a note, never an exception."""
        try:
            self.stop(exit_code=None if kind is None else 1)
        except MeasurementFailed as error:
            self.on_note(f"measurement failed ({error}); the work itself was not affected")

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """As a decorator: every call is its own run, with these options."""
        options = self.options

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with Tracker.from_options(options):
                return function(*args, **kwargs)

        return wrapper


@parameters_of(TrackOptions)
def track(**options: Any) -> Tracker:
    """`with carbon.track(region="FR"):` or `@carbon.track(project="x")`; the options are TrackOptions'."""
    return Tracker(**options)


class _Sampler:
    """The background loop: meters polled, intervals cut, priced and written. One lock guards the meters."""

    def __init__(self, tracker: Tracker) -> None:
        from carbon.meters.modelled import ModelledMeter
        from carbon.meters.rapl import open_rapl

        self.tracker = tracker
        self.config = tracker.config
        self.started_at = datetime.now(timezone.utc)
        self.run = {
            "run_id": tracker.run_id,
            "start": utc_iso(self.started_at),
            "project": self.config.project,
            "experiment": self.config.experiment,
            "mode": tracker.mode,
            "command": tracker.command,
        }
        for sink in tracker.sinks:
            sink.open(self.run)  # an unwritable output folder fails here, before any work
        self.lock = threading.Lock()
        # Held by the sampler's thread until stop() releases it: one acquire with a timeout is the
        # loop's whole sleep (an Event's wait builds a lock and a waiter list at every call).
        self.stopped = threading.Lock()
        self.stopped.acquire()
        self.ready = threading.Event()
        self.rapl = open_rapl()
        self.counters: tuple[Any, ...] = ()  # the counter meters present (RAPL, NVML): read every interval
        self.modelled = ModelledMeter(None, ())  # baseline now; model and components once the hardware is known
        self.nvml: Any = NullMeter("nvml", "not opened yet")
        self.tree = None
        if tracker.mode == "process":
            from carbon.meters.attribution import ProcessTree

            self.tree = ProcessTree(tracker.pid or os.getpid())
        # Moments in microseconds since the epoch (see now_us): the start of the interval in progress,
        # and when it ends.
        self._start_us = to_us(self.started_at)
        self._interval_us = seconds_us(self.config.interval_s)
        self._cut_at_us = interval_end_us(self._start_us, self._interval_us)
        self.last_cut_done = float("-inf")
        self._iso_last: tuple[int | None, str] = (None, "")
        # Finished intervals read but not yet priced and written: (start, end (both in us), task,
        # measurements, the modelled meter's reading, attribution shares), oldest first. Held up to
        # `hold_s` when every sink reads its records after the fact (files); at once when one is live
        # (Prometheus, MLflow).
        self.held: deque[tuple[int, int, str | None, list[Measurement], Any, Any]] = deque()
        batched = all(getattr(sink, "batched", False) for sink in tracker.sinks)
        self.hold_s = HOLD_S if batched and self.config.interval_s >= 1.0 else 0.0
        self.task: str | None = None
        self.totals = Totals()
        self.task_totals: dict[str, Totals] = {}
        self.warnings: list[str] = []
        self.failing_sinks: set[int] = set()  # said once when a sink starts failing, once when it recovers
        self.sources: tuple[Source, ...] = ()
        self.pricer: IntervalPricer | None = None
        self.setup_error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="carbon-tracker", daemon=True)

    @property
    def interval_start(self) -> datetime:
        """When the interval in progress began."""
        return from_us(self._start_us)

    @interval_start.setter
    def interval_start(self, moment: datetime) -> None:
        self._start_us = to_us(moment)

    # -- lifecycle --
    def start(self) -> None:
        self.thread.start()
        self.pid = os.getpid()
        atexit.register(self._at_exit)

    def _at_exit(self) -> None:
        """The interpreter exits with the run never stopped: the finished intervals held are written
        (as they would have been, one by one, before it exited); the interval in progress is lost.
        Not in a forked child that exits normally: its copy of the held intervals is the parent's."""
        if os.getpid() != self.pid or not self.lock.acquire(timeout=5.0):
            return
        try:
            self._flush()
        except Exception as error:
            self._note(f"writing the held intervals at exit failed ({type(error).__name__}: {error})")
        finally:
            self.lock.release()

    def _note(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            self.tracker.on_note(text)

    def _setup(self) -> None:
        """Everything slow, off the caller's path: NVML, detection, the power model, the intensity chain."""
        from carbon.meters.modelled import gpu_model_per_device
        from carbon.meters.nvml import open_nvml
        from carbon.power import power_model

        self.nvml = open_nvml(self.tracker.gpu_ids)
        # A deadline set in our settings wins; else the providers' own default (CARBON_DETECT_TIMEOUT, 1 s).
        deadline_s = (
            None
            if self.config.origins.get("detect_timeout_s", "default") == "default"
            else self.config.detect_timeout_s
        )
        environment = resolve_environment(
            self.config.region, self.tracker.detect and not self.config.region, deadline_s
        )
        hardware = environment.hardware
        if self.nvml.available() and not hardware.gpu_count:
            hardware = replace(hardware, gpu_count=len(self.nvml.gpus), gpu_model=self.nvml.gpus[0].name)
            environment = replace(environment, hardware=hardware)
        try:
            model = power_model(hardware)
        except UserInputError as error:
            self._note(f"hardware {hardware.to_dict()} cannot be modelled ({error}); using this machine's CPU count")
            model = power_model(local_hardware())
        covered = set(self.rapl.components) | set(self.nvml.components)
        wanted = ["cpu", "ram"] + (["gpu"] if model.gpu_count else [])
        with self.lock:
            self.modelled.model = model
            self.modelled.components = tuple(c for c in wanted if c not in covered)
            if self.nvml.available():
                self.nvml.set_model(gpu_model_per_device(model))
        self.pricer = IntervalPricer(environment, self.config)
        self.hardware_dict = hardware.to_dict()  # the same in every record: built once
        self.sources = tuple(model.sources) + self._meter_sources()
        for warning in (*environment.warnings, *model.warnings):
            self._note(warning)
        if not self.rapl.available() and isinstance(self.rapl, NullMeter):
            self.warnings.append(f"CPU/memory energy modelled: {self.rapl.reason}")

    def _meter_sources(self) -> tuple[Source, ...]:
        from carbon.meters.rapl import RaplMeter

        sources = []
        if isinstance(self.rapl, RaplMeter) and self.rapl.available():
            zones = "; ".join(f"{c}: {', '.join(self.rapl.zone_names(c))}" for c in self.rapl.components)
            sources.append(Source("energy_cpu", "RAPL energy counters (Linux powercap)", None, None, "measured", zones))
        if self.nvml.available():
            gpus = ", ".join(
                f"{g.index}: {g.name} ({'energy counter' if g.uses_counter else 'integrated power'})"
                for g in self.nvml.gpus
            )
            sources.append(Source("energy_gpu", "NVIDIA NVML", None, None, "measured", gpus))
        if self.tree is not None:
            sources.append(
                Source(
                    "attribution",
                    "process tree share",
                    None,
                    None,
                    "modelled",
                    "process mode: CPU energy x the tree's share of busy CPU time, memory x its share "
                    "of RAM, GPU x its share of GPU utilisation; attribution, not measurement",
                )
            )
        return tuple(sources)

    def _main(self) -> None:
        try:
            self._setup()
        except BaseException as error:
            self.setup_error = error
            self.ready.set()
            return
        # A null meter measures nothing and its notes are said below: not read at every cut.
        self.counters = tuple(m for m in (self.rapl, self.nvml) if not isinstance(m, NullMeter))
        if self.pricer is not None and self.pricer.prefetcher is not None:
            # Live intensity: each interval priced with the value known as it ends, not a later one.
            self.hold_s = 0.0
        self.ready.set()
        for meter in (self.rapl, self.nvml):
            for note in meter.notes():
                self._note(note)
        if self.pricer is not None and self.pricer.prefetcher is None:
            try:  # the first hour's bundled value (ms: the tables), looked up now rather than at the first write
                with self.lock:
                    self.pricer.intensity(self.interval_start)
            except Exception as error:  # the interval's own pricing says it again, in its record
                logger.debug("intensity for %s not found ahead: %s", self.interval_start, error)
        poll_s = min(self.rapl.poll_s, self.nvml.poll_s, self.config.interval_s)
        time_ns = time.time_ns  # now_us() written out: each call on this path is paid every second, cold
        while True:
            wait_s = (self._cut_at_us - time_ns() // 1000) / 1e6
            if self.stopped.acquire(timeout=poll_s if wait_s > poll_s else wait_s if wait_s > 0.0 else 0.0):
                return
            try:
                with self.lock:
                    now = time_ns() // 1000
                    if now >= self._cut_at_us:
                        self._cut_us(now)
                    else:
                        self.rapl.poll()
                        self.nvml.poll()
            except Exception as error:  # the loop must go on measuring; the run's warnings name the failure
                self._note(
                    f"tracker interval failed ({type(error).__name__}: {error}); its energy may be missing "
                    "from the totals; measuring goes on"
                )

    # -- intervals (called with the lock held) --
    def _cut(
        self,
        end: datetime | None = None,
        until: float | None = None,
        rapl: list[Measurement] | None = None,
        flush: bool = False,
    ) -> None:
        """One interval ends: drain the meters and hold the reading; price and write the held readings
        now if the next cut would come more than `hold_s` after the oldest began (at once when `hold_s`
        is 0), or when `flush`.
        `end`/`until` (wall and monotonic) and `rapl` (its counters drained then) are given when the
        run stopped before the setup was done, so that waiting for provider detection is not counted
        as the run's time or energy."""
        self._cut_us(now_us() if end is None else to_us(end), until, rapl, flush)

    def _cut_us(
        self, end_us: int, until: float | None = None, rapl: list[Measurement] | None = None, flush: bool = False
    ) -> None:
        """`_cut` with the end in microseconds since the epoch (what the loop reads every second). With
        no counter and no process tree (the usual case) this is all a second costs: the modelled
        meter's cheap read, and the reading held."""
        start_us = self._start_us
        if end_us < start_us:
            end_us = start_us
        measurements, shares = self._drain(rapl) if self.counters or self.tree is not None else ([], None)
        self.held.append((start_us, end_us, self.task, measurements, self.modelled.read(until), shares))
        self._start_us = end_us
        self._cut_at_us = interval_end_us(end_us, self._interval_us)
        self.last_cut_done = time.monotonic()
        if flush or (self._cut_at_us - self.held[0][0]) / 1_000_000 > self.hold_s:
            self._flush()

    def _drain(self, rapl: list[Measurement] | None) -> tuple[list[Measurement], dict[str, float] | None]:
        """The counters' energy since the last cut (`rapl`: RAPL's, drained already) with their notes,
        and the process tree's shares in process mode."""
        measurements: list[Measurement] = []
        for meter in self.counters:
            measurements += rapl if meter is self.rapl and rapl is not None else meter.take()
        for meter in self.counters:
            for note in meter.notes():
                self._note(note)
        if self.tree is None:
            return measurements, None
        tree_shares = self.tree.take()
        gpu_share = tree_shares.cpu
        if self.nvml.available():
            per_gpu = self.nvml.process_shares(set(tree_shares.pids))
            energies = {g.index: g.last_taken_j for g in self.nvml.gpus}
            total = sum(energies.values())
            if total > 0:
                gpu_share = sum(energies[i] * per_gpu.get(i, 0.0) for i in energies) / total
        return measurements, {"cpu": tree_shares.cpu, "ram": tree_shares.ram, "gpu": gpu_share}

    def _flush(self) -> None:
        """Price and write the held readings, oldest first. Each is let go before it is priced, so a
        failure (noted by the caller) costs that interval only; the rest wait for the next flush."""
        records: list[dict[str, Any]] = []
        try:
            while self.held:
                start_us, end_us, task, measurements, modelled, shares = self.held.popleft()
                measurements += self.modelled.measurements(modelled)
                records.append(self._price(start_us, end_us, task, measurements, shares))
        finally:  # those priced are written even when a later one failed
            if records:
                self._write_intervals(records)

    def _price(
        self,
        start_us: int,
        end_us: int,
        task: str | None,
        measurements: list[Measurement],
        shares: dict[str, float] | None,
    ) -> dict[str, Any]:
        """One held interval priced and added to the totals: its run-log record."""
        attribution = None if shares is None else {k: round(v, 6) for k, v in shares.items()}
        assert self.pricer is not None
        energy = energy_from(measurements, shares)
        try:
            estimate, intensity = self.pricer.priced(energy, from_us(start_us), from_us(end_us))
        except Exception as error:  # nothing measured is dropped: the interval is kept, unpriced
            return self._unpriced(energy, start_us, end_us, task, attribution, error)
        energy_kwh, co2e_kg = estimate.energy_kwh, estimate.co2e_kg
        record = interval_fields(estimate, energy_kwh, co2e_kg)
        record.update(
            hardware=self.hardware_dict,
            run_id=self.tracker.run_id,
            seq=self.totals.intervals,
            start=self._iso(start_us),
            end=self._iso(end_us),
            duration_s=(end_us - start_us) / 1_000_000,  # timedelta.total_seconds(): the same division
            task=task,
            mode=self.tracker.mode,
            attribution=attribution,
            project=self.config.project,
            experiment=self.config.experiment,
            region=estimate.location.region,
            intensity_granularity=intensity.granularity,
            intensity_detail=intensity.source.detail,
        )
        self.totals.add(estimate, intensity.granularity, energy_kwh, co2e_kg)
        if task is not None:
            self.task_totals.setdefault(task, Totals()).add(estimate, intensity.granularity, energy_kwh, co2e_kg)
        return record

    def _unpriced(
        self, energy: Energy, start_us: int, end_us: int, task: str | None, attribution: Any, error: Exception
    ) -> dict[str, Any]:
        reason = f"{type(error).__name__}: {error}"
        self._note(f"an interval could not be priced ({reason}); its energy is kept in the run log, unpriced")
        duration_s = (end_us - start_us) / 1_000_000
        self.totals.add_unpriced(energy, duration_s)
        record = {
            "breakdown": energy.breakdown(),
            "co2e_kg": None,
            "error": reason,
            "run_id": self.tracker.run_id,
            "seq": self.totals.intervals - 1,
            "start": self._iso(start_us),
            "end": self._iso(end_us),
            "duration_s": duration_s,
            "task": task,
            "mode": self.tracker.mode,
            "attribution": attribution,
            "project": self.config.project,
            "experiment": self.config.experiment,
        }
        return record

    def _iso(self, moment_us: int) -> str:
        """utc_iso, kept for the last moment written: an interval's start is the previous one's end."""
        if moment_us != self._iso_last[0]:
            self._iso_last = (moment_us, utc_iso(from_us(moment_us)))
        return self._iso_last[1]

    def _write_intervals(self, records: list[dict[str, Any]]) -> None:
        """Every sink gets the records in order: all at once where it takes them so (`intervals`)."""
        for sink in self.tracker.sinks:
            try:
                several = getattr(sink, "intervals", None)
                if several is not None:
                    several(records)
                else:
                    for record in records:
                        sink.interval(record)
            except Exception as error:  # a full disk or a broken sink must not stop the measuring
                if id(sink) not in self.failing_sinks:
                    self.failing_sinks.add(id(sink))
                    self._note(f"{_sink_name(sink)}: interval not written ({error}); measuring goes on")
                continue
            if id(sink) in self.failing_sinks:
                self.failing_sinks.discard(id(sink))
                self._note(f"{_sink_name(sink)}: writing again, every held record written")

    def set_task(self, name: str | None) -> str | None:
        """Cut the interval here and label what follows; returns the previous label. A sliver under
        1 ms (one task ending, the next starting) is not worth a record: it joins the next interval."""
        self.ready.wait()
        with self.lock:
            previous = self.task
            sliver = time.monotonic() - self.last_cut_done < 0.001
            if self.pricer is not None and not sliver:
                self._cut()
            self.task = name
            return previous

    def stop(self, exit_code: int | None) -> Estimate:
        """The last interval ends now (not when a slow setup finishes); the sinks are closed whatever
        happens. Raises MeasurementFailed, after closing them, when the run cannot be priced."""
        stopped_at, stopped_mono = datetime.now(timezone.utc), time.monotonic()
        with self.lock:  # the counters as they are now, before waiting for a slow setup (detection)
            early = None if self.ready.is_set() else self.rapl.take()
        self.ready.wait()
        if self.stopped.locked():  # (a second stop after a failed one finds it released)
            self.stopped.release()
        self.thread.join()
        atexit.unregister(self._at_exit)
        try:
            estimate = self._finish(exit_code, stopped_at if early is not None else None, stopped_mono, early)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            self._close_sinks(self._failed_row(exit_code, reason))
            raise MeasurementFailed(reason) from error
        self._close_sinks(self._finished_row(estimate, exit_code))
        return estimate

    def _finish(
        self, exit_code: int | None, end: datetime | None, until: float, early: list[Measurement] | None
    ) -> Estimate:
        try:
            if self.setup_error is not None:
                raise self.setup_error
            assert self.pricer is not None
            with self.lock:
                self._cut(end, until if end is not None else None, early, flush=True)
        finally:  # NVML, the prefetcher and /proc/stat are let go whatever happened
            for closing in (getattr(self.pricer, "close", None), self.nvml.close, self.modelled.close):
                try:
                    if closing is not None:
                        closing()
                except Exception as error:
                    self._note(f"closing failed ({type(error).__name__}: {error})")
        return self._summary(self.interval_start, exit_code)

    def _finished_row(self, estimate: Estimate, exit_code: int | None) -> dict[str, Any]:
        return {
            **estimate.to_dict(),
            "status": "finished",
            "intervals": self.totals.intervals,
            "run_log": self.tracker.run_log,
            "carbon_version": _version(),
            **self.run,
            "end": utc_iso(self.interval_start),
            "exit_code": exit_code,
            "duration_s": self.totals.duration_s,
        }

    def _failed_row(self, exit_code: int | None, reason: str) -> dict[str, Any]:
        """What is known when the run could not be priced: who, when, how long, and why not."""
        return {
            **self.run,
            "status": "unpriced",
            "end": utc_iso(self.interval_start),
            "exit_code": exit_code,
            "duration_s": self.totals.duration_s,
            "intervals": self.totals.intervals,
            "run_log": self.tracker.run_log,
            "carbon_version": _version(),
            "warnings": [*self.warnings, f"measurement failed: {reason}"],
        }

    def _close_sinks(self, summary: dict[str, Any]) -> None:
        for sink in self.tracker.sinks:
            try:
                sink.close(summary)
            except Exception as error:  # the other sinks still get theirs
                self._note(f"{_sink_name(sink)}: run summary not written ({error})")

    def _summary(self, ended: datetime, exit_code: int | None) -> Estimate:
        assert self.pricer is not None
        first = self.pricer.intensity(self.started_at)
        totals = self.totals
        intensity = totals.intensity(first.intensity_g_per_kwh)
        granularity = "/".join(sorted(totals.granularities)) or first.granularity
        intensity_source = replace(
            first.source,
            detail=f"{totals.intervals} interval(s) each priced at the {granularity} "
            f"value for its own time; first: {first.source.detail}",
        )
        embodied = self._embodied(totals.duration_s)
        if totals.unpriced_intervals:
            self.warnings.append(
                f"{totals.unpriced_intervals} interval(s) could not be priced: their "
                f"{totals.unpriced.it_kwh.central:.3g} kWh of IT energy are in the run log, not in these totals"
            )
        estimate = Estimate(
            energy=totals.energy,
            pue=self.pricer.pue,
            intensity_g_per_kwh=intensity,
            location=self.pricer.location,
            sources=(intensity_source, self.pricer.pue_source, *self.sources),
            hardware=self.pricer.environment.hardware,
            usage=Usage(duration_s=totals.duration_s, cpu_util=self.modelled.last_cpu_util, start=self.started_at),
            intensity_basis="/".join(totals.by_basis) or first.basis,
            warnings=tuple(self.warnings) + _mixed_bases_warning(totals),
        )
        tasks = {
            name: {
                "energy_kwh": t.facility_kwh.central,
                # A task whose intervals were priced on several bases has no one CO2e figure.
                "co2e_kg": t.co2e_kg.central if len(t.by_basis) < 2 else None,
                "co2e_by_basis": {basis: part["co2e_kg"] for basis, part in t.basis_report().items()},
                "duration_s": t.duration_s,
                "intervals": t.intervals,
            }
            for name, t in self.task_totals.items()
        }
        extra = dict(
            run_id=self.tracker.run_id,
            start=utc_iso(self.started_at),
            end=utc_iso(ended),
            mode=self.tracker.mode,
            project=self.config.project,
            experiment=self.config.experiment,
            intervals=totals.intervals,
            run_log=self.tracker.run_log,
            tasks=tasks,
            co2e_by_basis=totals.basis_report(),
        )
        if len(totals.by_basis) > 1:  # no one CO2e figure across bases: refused, per basis instead
            extra.update({key: None for key in MIXED_BASIS_KEYS})
        if exit_code is not None:
            extra["exit_code"] = exit_code
        if embodied is not None:  # reported apart: co2e_kg stays operational
            estimate = replace(estimate, sources=(*estimate.sources, *embodied.sources))
            extra.update(embodied.to_dict())
        return estimate.with_extra(**extra)

    def _embodied(self, duration_s: float) -> Any:
        """The hardware's embodied emissions for the run, when asked for and published for it."""
        if not self.tracker.embodied:
            return None
        from carbon.embodied import NoEmbodiedFigure, embodied_for

        assert self.pricer is not None
        try:
            return embodied_for(self.pricer.environment.hardware, duration_s, self.config.embodied_lifetime_years)
        except NoEmbodiedFigure as error:
            self._note(f"embodied emissions not reported: {error}")
            return None


MIXED_BASIS_KEYS = (
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "intensity_g_per_kwh",
    "intensity_g_per_kwh_low",
    "intensity_g_per_kwh_high",
)


def _mixed_bases_warning(totals: Totals) -> tuple[str, ...]:
    if len(totals.by_basis) < 2:
        return ()
    counts = ", ".join(f"{basis} ({count})" for basis, (_, _, count) in sorted(totals.by_basis.items()))
    return (
        f"intervals were priced on {len(totals.by_basis)} emission-factor bases: {counts}; CO2e is reported "
        "per basis (co2e_by_basis) and not summed across them",
    )


def _sink_name(sink: Any) -> str:
    path = getattr(sink, "path", None)
    return str(path) if path is not None else type(sink).__name__


def _version() -> str:
    from carbon import __version__

    return __version__
