"""Reading and checking what clients send: `carbon.run/1` interval records, run summaries and
rows of `carbon batch` output, one record at a time.

Each check returns the record's columns (times as aware UTC datetimes, figures as floats, the
fields without a column of their own as JSON text) or raises Invalid with the reason the client
gets back beside the record's index. Bodies are parsed by orjson, which never yields NaN or
infinities, so the number checks have a fast path for plain floats and ints. This is the hot
path of ingest: keep it free of database work (carbon.server.ingest does that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal, overload

import orjson

from carbon.errors import UserInputError
from carbon.server.models import DEFAULT_EXPERIMENT

RUN_SCHEMA = "carbon.run/1"
SUMMARY_SCHEMA = "carbon.run-summary/1"
FIGURES = ("energy_kwh", "co2e_kg")
COMPONENTS = ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh")
INTENSITY_KEYS = ("intensity_g_per_kwh", "intensity_g_per_kwh_low", "intensity_g_per_kwh_high")
MAX_NUMBER = 1e12
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


class Invalid(UserInputError):
    """One record cannot be stored; the message is the reason given back with its index."""


def parse_body(body: bytes, content_type: str, reject: Callable[[int, str], None]) -> list[tuple[int, Any]]:
    """(index, object) per record: a JSON array, {"records": [...]}, or JSON lines (one per line).
    A JSON line that does not parse is rejected with its index; a whole body that does not parse
    raises Invalid."""
    text = body.strip()
    if "ndjson" in content_type or "jsonl" in content_type or "json-seq" in content_type:
        items = []
        for index, line in enumerate(text.split(b"\n") if text else []):
            try:
                items.append((index, orjson.loads(line)))
            except orjson.JSONDecodeError:
                reject(index, "not a JSON object (a torn or corrupt line)")
        return items
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise Invalid(f"body is not JSON: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list):
        raise Invalid('body must be a JSON array of records, {"records": [...]}, or JSON lines')
    return list(enumerate(data))


@overload
def _number(record: dict[str, Any], key: str, required: Literal[True], minimum: float | None = 0.0) -> float: ...
@overload
def _number(record: dict[str, Any], key: str, required: bool = False, minimum: float | None = 0.0) -> float | None: ...
def _number(record: dict[str, Any], key: str, required: bool = False, minimum: float | None = 0.0) -> float | None:
    value = record.get(key)
    # Fast path: bodies are parsed by orjson, which never yields NaN or infinities. (`type(value) is`
    # twice rather than once into a variable: the type checker narrows only the direct form.)
    if (
        (type(value) is float or type(value) is int)
        and (minimum is None or value >= minimum)
        and -MAX_NUMBER <= value <= MAX_NUMBER
    ):
        return float(value)
    if value is None:
        if required:
            raise Invalid(f"{key} is missing")
        return None
    if type(value) is bool or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid(f"{key} must be a number, got {value!r:.40}")
    raise Invalid(f"{key} out of range: {value!r}")


def _triple(record: dict[str, Any], key: str, low_key: str, high_key: str) -> tuple[float, float, float]:
    central = _number(record, key, required=True)
    low = _number(record, low_key)
    high = _number(record, high_key)
    low = central if low is None else low
    high = central if high is None else high
    tolerance = 1e-9 * max(1.0, abs(central))
    if not (low <= central + tolerance and central <= high + tolerance):
        raise Invalid(f"{key} must satisfy low <= central <= high, got {low}, {central}, {high}")
    return central, low, high


def _text(record: dict[str, Any], key: str, limit: int, required: bool = False) -> str | None:
    value = record.get(key)
    if type(value) is str and 0 < len(value) <= limit and "\x00" not in value:  # the usual case
        return value
    if value is None or value == "":
        if required:
            raise Invalid(f"{key} is missing")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "job_id":
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"{key} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise Invalid(f"{key} longer than {limit} characters")
    if "\x00" in value:
        raise Invalid(f"{key} contains a NUL character")
    return value


def _time(record: dict[str, Any], key: str, required: bool = True) -> datetime | None:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise Invalid(f"{key} is missing")
        return None
    if type(value) is not str:
        raise Invalid(f"{key} must be an ISO 8601 time, got {value!r:.40}")
    try:
        if value[-1:] == "Z":  # the tracker's own form: UTC, no conversion needed
            moment = datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)
        else:
            moment = datetime.fromisoformat(value)
            moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except ValueError:
        raise Invalid(f"{key} is not an ISO 8601 time: {value!r:.40}") from None
    if not EARLIEST <= moment < LATEST:
        raise Invalid(f"{key} out of range: {value!r:.40}")
    return moment


class JsonText(str):
    """A JSON document already serialised (and checked), stored as it is."""


def _extra(record: dict[str, Any], skip: frozenset[str]) -> JsonText | None:
    """The fields without a column of their own, as JSON text (PostgreSQL refuses NUL in text)."""
    extra = {k: v for k, v in record.items() if k not in skip}
    if not extra:
        return None
    text = orjson.dumps(extra)
    if b"\\u0000" in text:
        raise Invalid("a field contains a NUL character")
    return JsonText(text.decode())


def _breakdown(record: dict[str, Any]) -> dict[str, float]:
    breakdown = record.get("breakdown")
    if breakdown is None:
        return {name: _number(record, name) or 0.0 for name in COMPONENTS}
    if not isinstance(breakdown, dict):
        raise Invalid("breakdown must be an object")
    return {name: _number(breakdown, name) or 0.0 for name in COMPONENTS}


def hardware_name(hardware: Any) -> str:
    if isinstance(hardware, dict):
        name = hardware.get("instance_type") or hardware.get("cpu_model") or ""
        return name if isinstance(name, str) else ""
    return ""


INTERVAL_COLUMNS = frozenset(
    {
        "schema",
        "run_id",
        "seq",
        "start",
        "end",
        "duration_s",
        "task",
        "project",
        "experiment",
        "region",
        "hardware",
        "pue",
        "intensity_g_per_kwh",
        "intensity_g_per_kwh_low",
        "intensity_g_per_kwh_high",
        "intensity_basis",
        "intensity_granularity",
        *(f"{f}{s}" for f in FIGURES for s in ("", "_low", "_high")),
    }
)


@dataclass
class IntervalIn:
    index: int
    run_id: str
    experiment: str
    row: dict[str, Any]  # IntervalRecord columns (without organisation_id and run_pk)
    region: str
    hardware_name: str
    hardware: dict[str, Any] | None
    location: dict[str, Any]
    mode: str | None


def check_interval(index: int, record: Any) -> IntervalIn:
    if type(record) is not dict:
        raise Invalid("a record must be a JSON object")
    schema = record.get("schema", RUN_SCHEMA)
    if schema != RUN_SCHEMA:
        raise Invalid(f"schema must be {RUN_SCHEMA!r}, got {schema!r:.40}")
    seq = record.get("seq")
    if type(seq) is not int or not 0 <= seq < 2**31:
        raise Invalid(f"seq must be a whole number from 0, got {seq!r:.40}")
    start, end = _time(record, "start"), _time(record, "end")
    assert start is not None and end is not None
    if end < start:
        raise Invalid("end is before start")
    energy = _triple(record, "energy_kwh", "energy_kwh_low", "energy_kwh_high")
    co2e = _triple(record, "co2e_kg", "co2e_kg_low", "co2e_kg_high")
    intensity = [_number(record, key) for key in INTENSITY_KEYS]
    hardware = record.get("hardware")
    if hardware is not None and not isinstance(hardware, dict):
        raise Invalid("hardware must be an object")
    location = record.get("location")
    if location is not None and not isinstance(location, dict):
        raise Invalid("location must be an object")
    row = {
        "seq": seq,
        "start": start,
        "end": end,
        "duration_s": _number(record, "duration_s", required=True),
        "task": _text(record, "task", 200),
        "pue": _number(record, "pue"),
        "intensity_g_per_kwh": intensity[0],
        "intensity_g_per_kwh_low": intensity[1],
        "intensity_g_per_kwh_high": intensity[2],
        "intensity_basis": _text(record, "intensity_basis", 50),
        "intensity_granularity": _text(record, "intensity_granularity", 20),
        "energy_kwh": energy[0],
        "energy_kwh_low": energy[1],
        "energy_kwh_high": energy[2],
        "co2e_kg": co2e[0],
        "co2e_kg_low": co2e[1],
        "co2e_kg_high": co2e[2],
        **_breakdown(record),
        "extra": _extra(record, INTERVAL_COLUMNS),
    }
    return IntervalIn(
        index=index,
        run_id=_text(record, "run_id", 100, required=True) or "",
        experiment=_text(record, "experiment", 200) or DEFAULT_EXPERIMENT,
        row=row,
        region=_text(record, "region", 100) or "",
        hardware_name=hardware_name(hardware)[:200],
        hardware=hardware,
        location=location or {},
        mode=_text(record, "mode", 20),
    )


BATCH_COLUMNS = frozenset(
    {
        "source",
        "job_id",
        "user",
        "account",
        "partition",
        "project",
        "state",
        "region",
        "zone",
        "hardware",
        "hardware_used",
        "start",
        "end",
        "duration_s",
        "cpus",
        "gpus",
        "memory_gb",
        "pue",
        "intensity_g_per_kwh",
        "intensity_basis",
        "intensity_granularity",
        "energy_method",
        "line",
        *COMPONENTS,
        *(f"{f}{s}" for f in FIGURES for s in ("", "_low", "_high")),
    }
)


@dataclass
class JobIn:
    index: int
    source: str
    row: dict[str, Any]
    day: date


def check_job(index: int, record: Any, default_source: str | None) -> JobIn:
    if not isinstance(record, dict):
        raise Invalid("a record must be a JSON object")
    source = _text(record, "source", 500) or default_source
    if not source:
        raise Invalid("source is missing (a column of `carbon batch` output, or ?source=)")
    if "\x00" in source or len(source) > 500:
        raise Invalid("source must be text of at most 500 characters")
    start, end = _time(record, "start", required=False), _time(record, "end", required=False)
    if start is None and end is None:
        raise Invalid("start or end is needed to date the job")
    if start is not None and end is not None and end < start:
        raise Invalid("end is before start")
    energy = _triple(record, "energy_kwh", "energy_kwh_low", "energy_kwh_high")
    co2e = _triple(record, "co2e_kg", "co2e_kg_low", "co2e_kg_high")
    row = {
        "job_id": _text(record, "job_id", 200, required=True),
        "user": _text(record, "user", 200),
        "account": _text(record, "account", 200),
        "partition": _text(record, "partition", 200),
        "job_project": _text(record, "project", 200),
        "state": _text(record, "state", 50),
        "region": _text(record, "region", 100),
        "zone": _text(record, "zone", 100),
        "hardware": _text(record, "hardware_used", 200) or _text(record, "hardware", 200),
        "start": start,
        "end": end,
        "duration_s": _number(record, "duration_s"),
        "cpus": _number(record, "cpus"),
        "gpus": _number(record, "gpus"),
        "memory_gb": _number(record, "memory_gb"),
        "pue": _number(record, "pue"),
        "intensity_g_per_kwh": _number(record, "intensity_g_per_kwh"),
        "intensity_basis": _text(record, "intensity_basis", 50),
        "intensity_granularity": _text(record, "intensity_granularity", 20),
        "energy_method": _text(record, "energy_method", 100),
        "energy_kwh": energy[0],
        "energy_kwh_low": energy[1],
        "energy_kwh_high": energy[2],
        "co2e_kg": co2e[0],
        "co2e_kg_low": co2e[1],
        "co2e_kg_high": co2e[2],
        **{name: _number(record, name) or 0.0 for name in COMPONENTS},
        "extra": _extra(record, BATCH_COLUMNS),
    }
    return JobIn(index, source, row, (start or end).date())  # type: ignore[union-attr]


def check_summary(record: dict[str, Any]) -> dict[str, Any]:
    _text(record, "run_id", 100, required=True)
    _text(record, "experiment", 200)
    exit_code = record.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise Invalid("exit_code must be a whole number")
    if exit_code is not None and not -(2**31) <= exit_code < 2**31:
        raise Invalid("exit_code out of range")
    _time(record, "end", required=False)
    if b"\\u0000" in orjson.dumps(record):
        raise Invalid("a field contains a NUL character")
    return record
