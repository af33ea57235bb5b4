"""Collection: interval records, run summaries and batch results into the database, idempotently.

What arrives is what the tools already write: `carbon.run/1` lines of a run log (one per
finished interval, carbon/sinks/jsonl.py), the tracker's final run summary (the same keys with
`"schema": "carbon.run-summary/1"`), and rows of `carbon batch` output. Each record is checked on
its own; a bad one is answered with its index and reason and the rest are kept.

Idempotence: an interval is stored once per (run, seq) and a batch job once per (source, job_id)
within a project, by `INSERT ... ON CONFLICT DO NOTHING RETURNING`: only the rows really inserted
come back, and only they are added to the run's totals and to the daily rollups, in the same
transaction. Sending the same log twice (an upload retried after a timeout, `carbon upload` of
what the tracker already sent) changes nothing. Rollup keys are upserted in sorted order so that
concurrent workers on PostgreSQL take their row locks in the same order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import orjson
from sqlalchemy import JSON, case, select, update
from sqlalchemy.orm import Session

from carbon.server.models import (
    DEFAULT_EXPERIMENT,
    ROLLUP_SUMS,
    BatchImport,
    BatchJob,
    DailyRollup,
    Experiment,
    IntervalRecord,
    Project,
    Run,
    UtcDateTime,
)

RUN_SCHEMA = "carbon.run/1"
SUMMARY_SCHEMA = "carbon.run-summary/1"
FIGURES = ("energy_kwh", "co2e_kg")
COMPONENTS = ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh")
MAX_NUMBER = 1e12
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


class Invalid(ValueError):
    """One record cannot be stored; the message is the reason given back with its index."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, reason: str) -> None:
        self.rejected.append({"index": index, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# --- parsing ---------------------------------------------------------------------------------------


def parse_body(body: bytes, content_type: str, result: IngestResult) -> list[tuple[int, Any]]:
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
                result.reject(index, "not a JSON object (a torn or corrupt line)")
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


def _number(record: dict, key: str, required: bool = False, minimum: float | None = 0.0) -> float | None:
    value = record.get(key)
    kind = type(value)
    # Fast path: bodies are parsed by orjson, which never yields NaN or infinities.
    if (kind is float or kind is int) and (minimum is None or value >= minimum) and -MAX_NUMBER <= value <= MAX_NUMBER:
        return float(value)
    if value is None:
        if required:
            raise Invalid(f"{key} is missing")
        return None
    if kind is bool or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid(f"{key} must be a number, got {value!r:.40}")
    raise Invalid(f"{key} out of range: {value!r}")


def _triple(record: dict, key: str) -> tuple[float, float, float]:
    central = _number(record, key, required=True)
    low = _number(record, f"{key}_low")
    high = _number(record, f"{key}_high")
    low = central if low is None else low
    high = central if high is None else high
    tolerance = 1e-9 * max(1.0, abs(central))
    if not (low <= central + tolerance and central <= high + tolerance):
        raise Invalid(f"{key} must satisfy low <= central <= high, got {low}, {central}, {high}")
    return central, low, high


def _text(record: dict, key: str, limit: int, required: bool = False) -> str | None:
    value = record.get(key)
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


def _time(record: dict, key: str, required: bool = True) -> datetime | None:
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


def _extra(record: dict, skip: frozenset[str]) -> JsonText | None:
    """The fields without a column of their own, as JSON text (PostgreSQL refuses NUL in text)."""
    extra = {k: v for k, v in record.items() if k not in skip}
    if not extra:
        return None
    text = orjson.dumps(extra)
    if b"\\u0000" in text:
        raise Invalid("a field contains a NUL character")
    return JsonText(text.decode())


def _breakdown(record: dict) -> dict[str, float]:
    breakdown = record.get("breakdown")
    if breakdown is None:
        return {name: _number(record, name) or 0.0 for name in COMPONENTS}
    if not isinstance(breakdown, dict):
        raise Invalid("breakdown must be an object")
    return {name: _number(breakdown, name) or 0.0 for name in COMPONENTS}


def _hardware_name(hardware: Any) -> str:
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
    if not isinstance(record, dict):
        raise Invalid("a record must be a JSON object")
    schema = record.get("schema", RUN_SCHEMA)
    if schema != RUN_SCHEMA:
        raise Invalid(f"schema must be {RUN_SCHEMA!r}, got {schema!r:.40}")
    seq = record.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**31:
        raise Invalid(f"seq must be a whole number from 0, got {seq!r:.40}")
    start, end = _time(record, "start"), _time(record, "end")
    assert start is not None and end is not None
    if end < start:
        raise Invalid("end is before start")
    energy, co2e = _triple(record, "energy_kwh"), _triple(record, "co2e_kg")
    intensity = [_number(record, f"intensity_g_per_kwh{s}") for s in ("", "_low", "_high")]
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
        hardware_name=_hardware_name(hardware)[:200],
        hardware=hardware,
        location=location or {},
        mode=_text(record, "mode", 20),
    )


# --- database helpers ------------------------------------------------------------------------------


def _insert(session: Session, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def insert_new(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    key: tuple[str, ...],
    returning: str,
    constants: dict[str, Any] | None = None,
) -> set:
    """Insert `rows` (plus the `constants` columns, the same for every row) into `table`, skipping
    those whose unique `key` is already stored; the `returning` column of the rows really inserted.

    The hot path of ingest: one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` per chunk,
    built here and run on the driver, with the values converted once (UTC datetimes to naive UTC,
    text on SQLite; JSON through orjson), because SQLAlchemy's per-row parameter processing cost
    more than the database itself.
    """
    if not rows:
        return set()
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    constants = constants or {}
    varying = list(rows[0])
    columns = [*varying, *constants]
    fixed = tuple(constants.values())
    converters = []
    for name in varying:
        kind = table.c[name].type
        if isinstance(kind, UtcDateTime):
            converters.append(_sqlite_time if sqlite else _naive_utc)
        elif isinstance(kind, JSON):
            converters.append(_json_text)
        else:
            converters.append(None)
    cursor = connection.connection.cursor()  # the DBAPI cursor, within the session's transaction
    mark = "?" if sqlite else "%s"
    one_row = "(" + ",".join([mark] * len(columns)) + ")"
    quoted = ",".join('"' + name + '"' for name in columns)
    head = f"INSERT INTO {table.name} ({quoted}) VALUES "
    tail = " ON CONFLICT (" + ",".join('"' + name + '"' for name in key) + f') DO NOTHING RETURNING "{returning}"'
    per_statement = max(1, min(1000, 30000 // len(columns)))
    inserted: set = set()
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values: list[Any] = []
        for row in chunk:
            for name, convert in zip(varying, converters):
                value = row[name]
                values.append(value if convert is None or value is None else convert(value))
            values.extend(fixed)
        cursor.execute(head + ",".join([one_row] * len(chunk)) + tail, values)
        inserted.update(r[0] for r in cursor.fetchall())
    cursor.close()
    return inserted


def _naive_utc(moment: datetime) -> datetime:
    """Checked times are aware UTC already (see _time): only the zone is dropped."""
    return moment.replace(tzinfo=None)


def _sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores ("2026-12-03 07:15:00.000000"), made directly."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _json_text(value: Any) -> str:
    return value if isinstance(value, JsonText) else orjson.dumps(value).decode()


def _get_or_create(session: Session, model: Any, key: dict[str, Any], values: dict[str, Any]) -> Any:
    """The row of `model` with `key` (a unique key), created with `values` if missing; race-free."""
    query = select(model).filter_by(**key)
    found = session.scalars(query).first()
    if found is not None:
        return found
    session.execute(_insert(session, model).values(**key, **values).on_conflict_do_nothing())
    return session.scalars(query).one()


def _experiment(session: Session, project: Project, name: str) -> Experiment:
    return _get_or_create(
        session,
        Experiment,
        {"project_id": project.id, "name": name},
        {"organisation_id": project.organisation_id, "created_at": datetime.now(timezone.utc)},
    )


def _run(session: Session, project: Project, run_id: str, experiment: str, first: IntervalIn | None) -> Run:
    found = session.scalars(select(Run).where(Run.project_id == project.id, Run.run_id == run_id)).first()
    if found is not None:
        return found
    values: dict[str, Any] = {
        "organisation_id": project.organisation_id,
        "experiment_id": _experiment(session, project, experiment).id,
        "status": "running",
        "created_at": datetime.now(timezone.utc),
    }
    if first is not None:
        values.update(
            mode=first.mode,
            region=first.region or None,
            zone=_short(first.location.get("zone"), 100),
            provider=_short(first.location.get("provider"), 50),
            hardware_name=first.hardware_name or None,
            hardware=first.hardware,
            intensity_basis=first.row["intensity_basis"],
        )
    return _get_or_create(session, Run, {"project_id": project.id, "run_id": run_id}, values)


def _short(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value and "\x00" not in value else None


def _add_rollups(session: Session, sums: dict[tuple, dict[str, float]]) -> None:
    if not sums:
        return
    rows = []
    for key in sorted(sums):
        organisation_id, project_id, kind, group_id, day, basis, region, hardware, user, account = key
        rows.append(
            {
                "organisation_id": organisation_id,
                "project_id": project_id,
                "kind": kind,
                "group_id": group_id,
                "day": day,
                "basis": basis,
                "region": region,
                "hardware": hardware,
                "user": user,
                "account": account,
                **{name: sums[key].get(name, 0) for name in ROLLUP_SUMS},
            }
        )
    statement = _insert(session, DailyRollup)
    statement = statement.on_conflict_do_update(
        index_elements=[
            "organisation_id",
            "project_id",
            "kind",
            "group_id",
            "day",
            "basis",
            "region",
            "hardware",
            "user",
            "account",
        ],
        set_={name: getattr(DailyRollup, name) + getattr(statement.excluded, name) for name in ROLLUP_SUMS},
    )
    session.execute(statement, rows)


def _accumulate(target: dict[str, float], row: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        target[name] = target.get(name, 0.0) + (row.get(name) or 0.0)


def _sums(rows: list[dict[str, Any]], names: Iterable[str]) -> dict[str, float]:
    """Column sums over rows (None counts as 0), one pass per column."""
    return {name: sum(row[name] or 0.0 for row in rows) for name in names}


def _add_sums(target: dict[str, float], rows: list[dict[str, Any]], names: Iterable[str]) -> None:
    for name, value in _sums(rows, names).items():
        target[name] = target.get(name, 0.0) + value


SUMMED = ("energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high", *COMPONENTS)


def _span_update(column: Any, value: datetime, earliest: bool) -> Any:
    beyond = column > value if earliest else column < value
    return case((column.is_(None), value), (beyond, value), else_=column)


# --- intervals and summaries -----------------------------------------------------------------------


def ingest_runs(session: Session, project: Project, items: Sequence[tuple[int, Any]], result: IngestResult) -> None:
    """Store interval records and run summaries; updates runs and rollups with what was new."""
    by_run: dict[str, list[IntervalIn]] = defaultdict(list)
    summaries: list[tuple[int, dict]] = []
    for index, record in items:
        try:
            if isinstance(record, dict) and record.get("schema") == SUMMARY_SCHEMA:
                summaries.append((index, _check_summary(record)))
            else:
                checked = check_interval(index, record)
                by_run[checked.run_id].append(checked)
        except Invalid as error:
            result.reject(index, str(error))
    rollups: dict[tuple, dict[str, float]] = defaultdict(dict)
    for run_id in sorted(by_run):
        records = by_run[run_id]
        run = _run(session, project, run_id, records[0].experiment, records[0])
        unique: dict[int, IntervalIn] = {}
        for record in records:
            if record.row["seq"] in unique:
                result.duplicates += 1
            else:
                unique[record.row["seq"]] = record
        inserted = insert_new(
            session,
            IntervalRecord.__table__,
            [r.row for r in unique.values()],
            ("run_pk", "seq"),
            "seq",
            constants={"organisation_id": project.organisation_id, "run_pk": run.id},
        )
        result.duplicates += len(unique) - len(inserted)
        result.accepted += len(inserted)
        if not inserted:
            continue
        new = [unique[seq] for seq in sorted(inserted)]
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for record in new:
            groups[_rollup_key(project, run, record)].append(record.row)
        for key, group in groups.items():
            _add_sums(rollups[key], group, (*SUMMED, "duration_s"))
            rollups[key]["records"] = rollups[key].get("records", 0) + len(group)
        totals = _sums([r.row for r in new], (*SUMMED, "duration_s"))
        stored = session.scalar(
            update(Run)
            .where(Run.id == run.id)
            .values(
                records=Run.records + len(new),
                start=_span_update(Run.start, min(r.row["start"] for r in new), earliest=True),
                end=_span_update(Run.end, max(r.row["end"] for r in new), earliest=False),
                **{name: getattr(Run, name) + totals[name] for name in (*SUMMED, "duration_s")},
            )
            .returning(Run.records)
        )
        if stored == len(new):  # this request stored the run's first intervals: count the run once
            bucket = rollups[_rollup_key(project, run, min(new, key=lambda r: r.row["start"]))]
            bucket["count"] = bucket.get("count", 0) + 1
    _add_rollups(session, rollups)
    for _, summary in summaries:
        _store_summary(session, project, summary)
        result.accepted += 1


def _rollup_key(project: Project, run: Run, record: IntervalIn) -> tuple:
    return (
        project.organisation_id,
        project.id,
        "run",
        run.experiment_id,
        record.row["start"].date(),
        record.row["intensity_basis"] or "",
        record.region,
        record.hardware_name,
        "",
        "",
    )


def _check_summary(record: dict) -> dict:
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


def _store_summary(session: Session, project: Project, summary: dict) -> None:
    run = _run(session, project, summary["run_id"], summary.get("experiment") or DEFAULT_EXPERIMENT, None)
    values: dict[str, Any] = {"status": "finished", "summary": summary, "exit_code": summary.get("exit_code")}
    if run.hardware is None and isinstance(summary.get("hardware"), dict):
        values["hardware"] = summary["hardware"]
        values["hardware_name"] = _hardware_name(summary["hardware"])[:200] or None
    location = summary.get("location")
    if run.zone is None and isinstance(location, dict):
        values["zone"] = _short(location.get("zone"), 100)
        values["provider"] = _short(location.get("provider"), 50)
        values["region"] = _short(location.get("region"), 100)
    if run.intensity_basis is None:
        values["intensity_basis"] = _short(summary.get("intensity_basis"), 50)
    session.execute(update(Run).where(Run.id == run.id).values(**values))


def run_state(session: Session, project: Project, run_id: str) -> dict[str, Any] | None:
    """What the server holds of a run: how many intervals, the highest seq, whether it finished."""
    from sqlalchemy import func

    run = session.scalars(select(Run).where(Run.project_id == project.id, Run.run_id == run_id)).first()
    if run is None:
        return None
    max_seq = session.scalar(select(func.max(IntervalRecord.seq)).where(IntervalRecord.run_pk == run.id))
    return {"run_id": run_id, "records": run.records, "max_seq": max_seq, "status": run.status}


# --- batch results ---------------------------------------------------------------------------------

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
    energy, co2e = _triple(record, "energy_kwh"), _triple(record, "co2e_kg")
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


def ingest_batch(
    session: Session,
    project: Project,
    items: Sequence[tuple[int, Any]],
    result: IngestResult,
    default_source: str | None = None,
) -> None:
    """Store batch result rows, once per (source, job_id) in the project; imports and rollups follow."""
    by_source: dict[str, dict[str, JobIn]] = defaultdict(dict)
    for index, record in items:
        try:
            job = check_job(index, record, default_source)
        except Invalid as error:
            result.reject(index, str(error))
            continue
        jobs = by_source[job.source]
        if job.row["job_id"] in jobs:
            result.duplicates += 1
        else:
            jobs[job.row["job_id"]] = job
    rollups: dict[tuple, dict[str, float]] = defaultdict(dict)
    now = datetime.now(timezone.utc)
    for source in sorted(by_source):
        jobs = by_source[source]
        batch = _get_or_create(
            session,
            BatchImport,
            {"project_id": project.id, "source": source},
            {"organisation_id": project.organisation_id, "created_at": now, "updated_at": now},
        )
        rows = [
            {**job.row, "organisation_id": project.organisation_id, "project_id": project.id, "import_id": batch.id}
            for job in jobs.values()
        ]
        inserted = insert_new(session, BatchJob.__table__, rows, ("import_id", "job_id"), "job_id")
        result.duplicates += len(jobs) - len(inserted)
        result.accepted += len(inserted)
        if not inserted:
            continue
        totals: dict[str, float] = {}
        starts, ends = [], []
        for job_id in sorted(inserted):
            job = jobs[job_id]
            row = job.row
            _accumulate(totals, row, SUMMED)
            starts.append(row["start"] or row["end"])
            ends.append(row["end"] or row["start"])
            key = (
                project.organisation_id,
                project.id,
                "batch",
                batch.id,
                job.day,
                row["intensity_basis"] or "",
                row["region"] or row["zone"] or "",
                row["hardware"] or "",
                row["user"] or "",
                row["account"] or "",
            )
            bucket = rollups[key]
            _accumulate(bucket, row, (*SUMMED, "duration_s"))
            bucket["count"] = bucket.get("count", 0) + 1
            bucket["records"] = bucket.get("records", 0) + 1
        session.execute(
            update(BatchImport)
            .where(BatchImport.id == batch.id)
            .values(
                jobs=BatchImport.jobs + len(inserted),
                updated_at=now,
                first_start=_span_update(BatchImport.first_start, min(starts), earliest=True),
                last_end=_span_update(BatchImport.last_end, max(ends), earliest=False),
                **{name: getattr(BatchImport, name) + totals[name] for name in SUMMED},
            )
        )
    _add_rollups(session, rollups)


def batch_state(session: Session, project: Project, source: str) -> dict[str, Any] | None:
    batch = session.scalars(
        select(BatchImport).where(BatchImport.project_id == project.id, BatchImport.source == source)
    ).first()
    return None if batch is None else {"source": source, "jobs": batch.jobs}
