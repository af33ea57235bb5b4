"""CodeCarbon's tracker API over carbon's Tracker: same names, arguments and defaults, carbon's figures.

Argument names and defaults follow CodeCarbon's `BaseEmissionsTracker.__init__`,
`OfflineEmissionsTracker.__init__` and `track_emissions` (mlco2/codecarbon,
`codecarbon/emissions_tracker.py`, 2.x): project_name="codecarbon", measure_power_secs=15,
output_dir=".", output_file="emissions.csv", save_to_file=True, tracking_mode="machine",
log_level="info", experiment_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1", pue=1.0 in CodeCarbon
(here: carbon's published PUE unless `pue` is given), gpu_ids=None.

What is measured, modelled and priced is carbon's Tracker (RAPL, NVML, the power model, the
bundled intensities) with its ranges and sources; this module translates arguments in and lays
the summary out as CodeCarbon's `emissions.csv` row. Arguments carbon does not honour (the
CodeCarbon API, Prometheus push gateway, loggers, ...) are accepted and named in ONE warning.
"""

from __future__ import annotations

import functools
import logging
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carbon.compat.emissions_csv import EmissionsCsv, row
from carbon.errors import UserInputError
from carbon.model import Estimate

logger = logging.getLogger(__name__)

_UNSET: Any = object()

# CodeCarbon's defaults for the arguments carbon honours.
DEFAULTS: dict[str, Any] = {
    "project_name": "codecarbon",
    "measure_power_secs": 15.0,
    "output_dir": ".",
    "output_file": "emissions.csv",
    "save_to_file": True,
    "gpu_ids": None,
    "experiment_id": "5b0fa12a-3dd7-45bb-9766-cc326314d9f1",
    "tracking_mode": "machine",
    "log_level": "info",
    "pue": None,  # CodeCarbon: 1.0; carbon: the provider-published or default PUE with its range
    "on_csv_write": "append",
}

# CodeCarbon arguments carbon accepts but does not act on, with CodeCarbon's default: passing the
# default is silent, anything else is named in the one warning.
IGNORED: dict[str, Any] = {
    "api_call_interval": 8,
    "api_endpoint": "https://api.codecarbon.io",
    "api_key": None,
    "save_to_api": False,
    "save_to_logger": False,
    "logging_logger": None,
    "save_to_prometheus": False,
    "prometheus_url": "localhost:9091",
    "save_to_logfire": False,
    "output_handlers": None,
    "emissions_endpoint": None,
    "experiment_name": "base",
    "co2_signal_api_token": None,
    "electricitymaps_api_token": None,
    "logger_preamble": "",
    "default_cpu_power": None,
    "force_cpu_power": None,
    "force_ram_power": None,
    "rapl_include_dram": False,
    "rapl_prefer_psys": False,
    "allow_multiple_runs": True,
    "country_2letter_iso_code": None,
}


class CompatibilityWarning(UserWarning):
    """CodeCarbon arguments that carbon accepts but does not act on."""


@dataclass(frozen=True)
class TaskEmissions:
    """What `stop_task()` returns: CodeCarbon's field names and units for one task."""

    task_name: str
    duration: float  # s
    emissions: float  # kg CO2e
    emissions_rate: float  # kg/s
    cpu_energy: float  # kWh, PUE included
    gpu_energy: float
    ram_energy: float
    energy_consumed: float


class _TaskTotals:
    """A carbon sink that sums interval records per task label (the tracker cuts intervals at task edges)."""

    def __init__(self) -> None:
        self.totals: dict[str, dict[str, float]] = {}

    def open(self, run: dict[str, Any]) -> None:
        return None

    def interval(self, record: dict[str, Any]) -> None:
        task = record.get("task")
        if task is None:
            return
        sums = self.totals.setdefault(
            task, {"duration": 0.0, "emissions": 0.0, "energy": 0.0, "cpu": 0.0, "gpu": 0.0, "ram": 0.0}
        )
        breakdown, pue = record["breakdown"], record["pue"]
        sums["duration"] += record["duration_s"]
        sums["emissions"] += record["co2e_kg"]
        sums["energy"] += record["energy_kwh"]
        for part in ("cpu", "gpu", "ram"):
            sums[part] += breakdown[f"{part}_kwh"] * pue

    def close(self, summary: dict[str, Any]) -> None:
        return None

    def result(self, name: str) -> TaskEmissions:
        sums = self.totals.get(
            name, {"duration": 0.0, "emissions": 0.0, "energy": 0.0, "cpu": 0.0, "gpu": 0.0, "ram": 0.0}
        )
        duration = sums["duration"]
        return TaskEmissions(
            task_name=name,
            duration=duration,
            emissions=sums["emissions"],
            emissions_rate=sums["emissions"] / duration if duration > 0 else 0.0,
            cpu_energy=sums["cpu"],
            gpu_energy=sums["gpu"],
            ram_energy=sums["ram"],
            energy_consumed=sums["energy"],
        )


def _gpu_ids(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ",".join(str(item) for item in value)


def _log_level(value: Any) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise UserInputError(f"log_level must be one of debug, info, warning, error, critical; got {value!r}")
    return level


def subdivision_code(country_iso2: str | None, region: str) -> str | None:
    """CodeCarbon's `region` (a subdivision name such as "california", any case) or an ISO 3166-2
    code, as the ISO 3166-2 code of a subdivision of that country with bundled figures."""
    from carbon.bundle import last_rows

    wanted = region.strip().lower()
    for entry in last_rows("subdivisions"):
        if entry["country_iso2"] == country_iso2 and wanted in (entry["name"].lower(), entry["iso3166_2"].lower()):
            return entry["iso3166_2"]
    return None


def offline_region(
    country_iso_code: str | None, region: str | None, cloud_provider: str | None, cloud_region: str | None
) -> str:
    """CodeCarbon's offline location arguments as one carbon region code (checked: unknown places fail now)."""
    from carbon.regions import UnknownRegion, resolve

    try:
        if cloud_provider:
            if not cloud_region:
                raise UserInputError("cloud_region must be given with cloud_provider")
            return resolve(f"{cloud_provider}:{cloud_region}").region
        if not country_iso_code:
            raise UserInputError(
                "OfflineEmissionsTracker needs country_iso_code (e.g. 'FRA') or cloud_provider/cloud_region"
            )
        country = resolve(country_iso_code)
        if region:
            code = subdivision_code(country.country, region)
            if code is not None:
                return code
            logger.warning(
                "region %r is not a subdivision of %s carbon knows; the country's figure is used",
                region,
                country_iso_code,
            )
        return country.region
    except UnknownRegion as error:
        raise UserInputError(str(error)) from None


class BaseEmissionsTracker:
    """Shared by EmissionsTracker and OfflineEmissionsTracker: start()/stop(), context manager, tasks."""

    _detect = True

    def __init__(
        self,
        project_name: str = _UNSET,
        measure_power_secs: float = _UNSET,
        output_dir: str = _UNSET,
        output_file: str = _UNSET,
        save_to_file: bool = _UNSET,
        gpu_ids: Any = _UNSET,
        experiment_id: str = _UNSET,
        tracking_mode: str = _UNSET,
        log_level: str | int = _UNSET,
        on_csv_write: str = _UNSET,
        pue: float | None = _UNSET,
        *,
        _region: str | None = None,
        **others: Any,
    ) -> None:
        given = {
            "project_name": project_name,
            "measure_power_secs": measure_power_secs,
            "output_dir": output_dir,
            "output_file": output_file,
            "save_to_file": save_to_file,
            "gpu_ids": gpu_ids,
            "experiment_id": experiment_id,
            "tracking_mode": tracking_mode,
            "log_level": log_level,
            "on_csv_write": on_csv_write,
            "pue": pue,
        }
        options = {name: DEFAULTS[name] if value is _UNSET else value for name, value in given.items()}
        unknown = sorted(set(others) - set(IGNORED))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s): {', '.join(unknown)}")
        ignored = sorted(name for name, value in others.items() if value != IGNORED[name])
        if options["on_csv_write"] != "append":
            ignored.append(f"on_csv_write={options['on_csv_write']!r} (rows are always appended)")
        if ignored:
            message = "carbon's CodeCarbon-compatible tracker ignores: " + ", ".join(ignored)
            logger.warning(message)
            warnings.warn(message, CompatibilityWarning, stacklevel=3)
        if options["tracking_mode"] not in ("machine", "process"):
            raise UserInputError(f"tracking_mode must be 'machine' or 'process', got {options['tracking_mode']!r}")
        logging.getLogger("carbon").setLevel(_log_level(options["log_level"]))
        self._options = options
        self._project_name = options["project_name"]
        self._experiment_id = str(options["experiment_id"])
        self._tracking_mode = options["tracking_mode"]
        self._csv = EmissionsCsv(options["output_dir"], options["output_file"]) if options["save_to_file"] else None
        self._region = _region
        self._tracker: Any = None
        self._tasks = _TaskTotals()
        self._task_context: Any = None
        self._active_task: str | None = None
        self.run_id = str(uuid.uuid4())
        self.final_emissions: float | None = None
        self.final_estimate: Estimate | None = None

    def _new_tracker(self) -> Any:
        from carbon.tracker import Tracker

        return Tracker(
            region=self._region,
            interval_s=float(self._options["measure_power_secs"]),
            project=self._project_name,
            experiment=self._experiment_id,
            mode=self._tracking_mode,
            gpu_ids=_gpu_ids(self._options["gpu_ids"]),
            detect=self._detect,
            pue=self._options["pue"],
            on_note=lambda text: logger.warning("%s", text),
            sinks=[self._tasks],
        )

    def start(self) -> None:
        if self._tracker is not None:
            logger.warning("Already started tracking")
            return
        self._tracker = self._new_tracker().start()

    def start_task(self, task_name: str | None = None) -> None:
        if self._tracker is None:
            self.start()
        if self._active_task is not None:
            logger.info("A task is already under measure")
            return
        name = task_name or str(uuid.uuid4())
        if name in self._tasks.totals:
            name += "_" + str(uuid.uuid4())
        self._task_context = self._tracker.task(name)
        self._task_context.__enter__()
        self._active_task = name

    def stop_task(self, task_name: str | None = None) -> TaskEmissions | None:
        if self._active_task is None:
            logger.error("No task is under measure")
            return None
        name = self._active_task
        self._task_context.__exit__(None, None, None)
        self._task_context = None
        self._active_task = None
        return self._tasks.result(name)

    def stop(self) -> float | None:
        """Stop measuring, append the emissions.csv row, and return the run's CO2e in kg."""
        if self._tracker is None:
            logger.error("You first need to start the tracker.")
            return None
        if self.final_emissions is not None:
            logger.warning("Tracker already stopped !")
            return self.final_emissions
        if self._active_task is not None:
            self.stop_task()
        from carbon import __version__

        # As CodeCarbon: a failed measurement never breaks the user's script; it is logged with its trace.
        try:
            estimate = self._tracker.stop()
        except Exception:
            logger.exception("the measurement failed; no emissions are reported")
            return None
        self.final_estimate = estimate
        self.final_emissions = estimate.co2e_kg.central
        if self._csv is not None:
            values = row(
                estimate,
                project_name=self._project_name,
                run_id=self.run_id,
                experiment_id=self._experiment_id,
                tracking_mode=self._tracking_mode,
                carbon_version=__version__,
            )
            try:
                self._csv.append(values)
            except OSError as error:
                logger.error("cannot write %s (%s); the emissions are still returned", self._csv.path, error)
        return self.final_emissions

    def __enter__(self) -> BaseEmissionsTracker:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: object) -> None:
        self.stop()


class EmissionsTracker(BaseEmissionsTracker):
    """Where: the `region` setting (CARBON_REGION, carbon.toml) or the detected cloud region; else the
    world average with a loud warning (carbon never geolocates by IP unless `geoip` is set)."""


class OfflineEmissionsTracker(BaseEmissionsTracker):
    """Where: `country_iso_code` (ISO 3166-1 alpha-3, as CodeCarbon) with an optional `region`
    (a subdivision name or ISO 3166-2 code), or `cloud_provider` with `cloud_region`. No network."""

    _detect = False

    def __init__(
        self,
        *args: Any,
        country_iso_code: str | None = None,
        region: str | None = None,
        cloud_provider: str | None = None,
        cloud_region: str | None = None,
        **kwargs: Any,
    ) -> None:
        code = offline_region(country_iso_code, region, cloud_provider, cloud_region)
        super().__init__(*args, _region=code, **kwargs)


def track_emissions(
    fn: Callable[..., Any] | None = None,
    *,
    offline: bool = False,
    country_iso_code: str | None = None,
    region: str | None = None,
    cloud_provider: str | None = None,
    cloud_region: str | None = None,
    **tracker_options: Any,
) -> Any:
    """`@track_emissions` or `@track_emissions(project_name=..., offline=True, country_iso_code="FRA")`:
    each call of the function is one tracked run, one emissions.csv row."""

    if offline:  # a wrong place fails when the function is decorated, not after its first run
        offline_region(country_iso_code, region, cloud_provider, cloud_region)

    def build() -> BaseEmissionsTracker:
        if offline:
            return OfflineEmissionsTracker(
                country_iso_code=country_iso_code,
                region=region,
                cloud_provider=cloud_provider,
                cloud_region=cloud_region,
                **tracker_options,
            )
        return EmissionsTracker(**tracker_options)

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            tracker = build()
            tracker.start()
            try:
                return function(*args, **kwargs)
            finally:
                tracker.stop()

        return wrapped

    return decorate(fn) if fn is not None else decorate
