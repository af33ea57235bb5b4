"""Collection: interval records, run summaries and batch results into the database, idempotently.

What arrives is what the tools already write: `carbon.run/1` lines of a run log (one per
finished interval, carbon/sinks/jsonl.py), the tracker's final run summary (the same keys with
`"schema": "carbon.run-summary/1"`), and rows of `carbon batch` output. Each record is checked on
its own (carbon.server.records); a bad one is answered with its index and reason and the rest
are kept.

Idempotence: an interval is stored once per (run, seq) and a batch job once per (source, job_id)
within a project, by `INSERT ... ON CONFLICT DO NOTHING RETURNING`: only the rows really inserted
come back, and only they are added to the run's totals and to the daily rollups, in the same
transaction. Sending the same log twice (an upload retried after a timeout, `carbon upload` of
what the tracker already sent) changes nothing. Rollup keys are upserted in sorted order so that
concurrent workers on PostgreSQL take their row locks in the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Table, case, select, update
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
from carbon.server.records import (
    COMPONENTS,
    SUMMARY_SCHEMA,
    IntervalIn,
    Invalid,
    JobIn,
    JsonText,
    check_interval,
    check_job,
    check_summary,
    hardware_name,
)

# Totals and rollups are updated through the tables (Core), not the ORM: no session
# synchronisation of loaded objects, which cost more than the statements themselves.
# (`__table__` is declared as a FromClause, which has no update(); on these models it is the Table.)
RUNS = cast(Table, Run.__table__)
IMPORTS = cast(Table, BatchImport.__table__)

RollupKey = tuple[int, int, str, int, date, str, str, str, str, str]
"""A daily_rollups row's key: organisation, project, kind, group, day, basis, region, hardware, user, account."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, reason: str) -> None:
        self.rejected.append({"index": index, "reason": reason})

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# --- database helpers ------------------------------------------------------------------------------


def _insert(session: Session, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def insert_new(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    key: tuple[str, ...],
    returning: str,
    constants: dict[str, Any] | None = None,
) -> set[Any]:
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
    converters: list[Callable[[Any], Any] | None] = []
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
    inserted: set[Any] = set()
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


def _add_rollups(session: Session, sums: dict[RollupKey, dict[str, float]]) -> None:
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
    table = DailyRollup.__table__
    statement = _insert(session, table)
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
        set_={name: table.c[name] + statement.excluded[name] for name in ROLLUP_SUMS},
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
    summaries: list[tuple[int, dict[str, Any]]] = []
    for index, record in items:
        try:
            if isinstance(record, dict) and record.get("schema") == SUMMARY_SCHEMA:
                summaries.append((index, check_summary(record)))
            else:
                checked = check_interval(index, record)
                by_run[checked.run_id].append(checked)
        except Invalid as error:
            result.reject(index, str(error))
    rollups: dict[RollupKey, dict[str, float]] = defaultdict(dict)
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
        groups: dict[RollupKey, list[dict[str, Any]]] = defaultdict(list)
        for record in new:
            groups[_rollup_key(project, run, record)].append(record.row)
        for key, group in groups.items():
            _add_sums(rollups[key], group, (*SUMMED, "duration_s"))
            rollups[key]["records"] = rollups[key].get("records", 0) + len(group)
        totals = _sums([r.row for r in new], (*SUMMED, "duration_s"))
        stored = session.scalar(
            update(RUNS)
            .where(RUNS.c.id == run.id)
            .values(
                records=RUNS.c.records + len(new),
                start=_span_update(RUNS.c.start, min(r.row["start"] for r in new), earliest=True),
                end=_span_update(RUNS.c.end, max(r.row["end"] for r in new), earliest=False),
                **{name: RUNS.c[name] + totals[name] for name in (*SUMMED, "duration_s")},
            )
            .returning(RUNS.c.records)
        )
        if stored == len(new):  # this request stored the run's first intervals: count the run once
            bucket = rollups[_rollup_key(project, run, min(new, key=lambda r: r.row["start"]))]
            bucket["count"] = bucket.get("count", 0) + 1
    _add_rollups(session, rollups)
    for _, summary in summaries:
        _store_summary(session, project, summary)
        result.accepted += 1


def _rollup_key(project: Project, run: Run, record: IntervalIn) -> RollupKey:
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


def _store_summary(session: Session, project: Project, summary: dict[str, Any]) -> None:
    run = _run(session, project, summary["run_id"], summary.get("experiment") or DEFAULT_EXPERIMENT, None)
    values: dict[str, Any] = {"status": "finished", "summary": summary, "exit_code": summary.get("exit_code")}
    if run.hardware is None and isinstance(summary.get("hardware"), dict):
        values["hardware"] = summary["hardware"]
        values["hardware_name"] = hardware_name(summary["hardware"])[:200] or None
    location = summary.get("location")
    if run.zone is None and isinstance(location, dict):
        values["zone"] = _short(location.get("zone"), 100)
        values["provider"] = _short(location.get("provider"), 50)
        values["region"] = _short(location.get("region"), 100)
    if run.intensity_basis is None:
        values["intensity_basis"] = _short(summary.get("intensity_basis"), 50)
    session.execute(update(RUNS).where(RUNS.c.id == run.id).values(**values))


def run_state(session: Session, project: Project, run_id: str) -> dict[str, Any] | None:
    """What the server holds of a run: how many intervals, the highest seq, whether it finished."""
    from sqlalchemy import func

    run = session.scalars(select(Run).where(Run.project_id == project.id, Run.run_id == run_id)).first()
    if run is None:
        return None
    max_seq = session.scalar(select(func.max(IntervalRecord.seq)).where(IntervalRecord.run_pk == run.id))
    return {"run_id": run_id, "records": run.records, "max_seq": max_seq, "status": run.status}


# --- batch results ---------------------------------------------------------------------------------


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
    rollups: dict[RollupKey, dict[str, float]] = defaultdict(dict)
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
            key: RollupKey = (
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
            update(IMPORTS)
            .where(IMPORTS.c.id == batch.id)
            .values(
                jobs=IMPORTS.c.jobs + len(inserted),
                updated_at=now,
                first_start=_span_update(IMPORTS.c.first_start, min(starts), earliest=True),
                last_end=_span_update(IMPORTS.c.last_end, max(ends), earliest=False),
                **{name: IMPORTS.c[name] + totals[name] for name in SUMMED},
            )
        )
    _add_rollups(session, rollups)


def batch_state(session: Session, project: Project, source: str) -> dict[str, Any] | None:
    batch = session.scalars(
        select(BatchImport).where(BatchImport.project_id == project.id, BatchImport.source == source)
    ).first()
    return None if batch is None else {"source": source, "jobs": batch.jobs}
