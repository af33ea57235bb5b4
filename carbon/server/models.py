"""The service's database schema (SQLAlchemy 2 typed ORM); Alembic migrations in `migrations/` create it.

The tree a team's data lives in, every row stamped with its organisation so that each query can
be filtered by it (isolation is a WHERE clause on an indexed column, never a join to trust):

    Organisation ─┬─ Project ─┬─ Experiment ── Run ── IntervalRecord   (from `carbon run` / track)
                  │           ├─ BatchImport ── BatchJob               (from `carbon batch`)
                  │           ├─ ShareLink                             (read-only link to a project)
                  │           └─ DailyRollup                           (aggregates kept on ingest)
                  └─ ApiToken (project scope: ingest/read; organisation scope: admin)

Meaning of the tables (units in column names; energies are facility energy, PUE included, unless
the name says `it_`; the `_low`/`_high` columns are the ends of the range, as in
`carbon estimate --format json`):

- `organisations`: slug (URL-safe, unique) and display name.
- `projects`: unique slug within the organisation. A project token ingests into its project.
- `experiments`: a run's `experiment` label, unique per project; runs with no label go to the
  experiment named `default` (constant DEFAULT_EXPERIMENT).
- `runs`: one tracked run, `run_id` as the tracker wrote it (unique per project). Its totals
  (`records`, `duration_s`, energy/CO2e triples, `cpu_kwh`.. `other_kwh` IT energy by component)
  are the sums of its stored interval records, kept up to date on ingest; `start`/`end` the span
  of those intervals. `summary` is the tracker's final summary when it was sent (sources,
  warnings, tasks, exit code) and `status` "running" until then, "finished" after.
- `interval_records`: one `carbon.run/1` line (carbon/sinks/jsonl.py), unique by (run, seq).
  The figures a page needs are columns; the rest of the line (breakdown methods, attribution,
  location, intensity detail) is kept in `extra` (JSON), so nothing sent is lost.
  Power of an interval = energy_kwh * 3.6e6 / duration_s (W, facility).
- `batch_imports`: one `source` of `carbon batch` results (the job log's name as the batch
  output's `source` column gives it, or the file name), unique per project, with its totals.
- `batch_jobs`: one row of `carbon batch` output, unique by (import, job_id), the output's
  columns (carbon/batch/engine.py OUTPUT_COLUMNS) as columns; anything else in `extra`.
- `api_tokens`: sha256 hex of the secret only (`token_hash`, unique) plus its first characters
  (`prefix`) to tell tokens apart in listings. `scopes` is a comma-separated subset of
  ingest,read,admin; `project_id` NULL means organisation scope (admin). Revoked tokens keep
  their row with `revoked_at` set.
- `share_links`: a read-only link to one project, hash only, revocable.
- `daily_rollups`: sums per (organisation, project, kind, group, day, basis, region, hardware,
  user, account), updated in the same transaction as the rows they sum, so that a page at a
  million runs reads a few thousand rollup rows, not the runs. `kind` is "run" (group_id =
  experiment id; sums of interval records, `count` = runs first seen that day, `records` =
  intervals) or "batch" (group_id = batch import id; `count` = `records` = jobs). `day` is the
  UTC date of an interval's or a job's start. Text dimensions use "" for unknown, never NULL,
  so that the unique key works the same on SQLite and PostgreSQL. `hardware` is the instance
  type, else the CPU model / hardware name; `user` and `account` are batch fields ("" for runs).

Examples for the dashboard:
    organisation total per basis:  SELECT basis, SUM(co2e_kg), SUM(co2e_kg_low), SUM(co2e_kg_high)
                                   FROM daily_rollups WHERE organisation_id = :org GROUP BY basis
    an experiment by day:          ... WHERE organisation_id = :org AND kind = 'run' AND group_id = :exp
                                   GROUP BY day
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DEFAULT_EXPERIMENT = "default"
SCOPES = ("ingest", "read", "admin")
KINDS = ("run", "batch")

# Deterministic constraint names, so that migrations name the same objects on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive in UTC (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)

    # SQLite keeps datetimes as text ("2026-12-03 07:15:00.000000", SQLAlchemy's format); its generic
    # converters cost more than the query on pages of many intervals, so the text is made and read
    # here directly, by the C isoformat functions.
    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)

        return from_text


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    projects: Mapped[list[Project]] = relationship(back_populates="organisation", order_by="Project.slug")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organisation_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="projects")


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class _Figures:
    """The figures every stored estimate carries (facility energy, CO2e, IT energy by component)."""

    energy_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    energy_kwh_low: Mapped[float] = mapped_column(Double, default=0.0)
    energy_kwh_high: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg_low: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg_high: Mapped[float] = mapped_column(Double, default=0.0)
    cpu_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    gpu_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    ram_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    other_kwh: Mapped[float] = mapped_column(Double, default=0.0)


class Run(_Figures, Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("project_id", "run_id"),
        Index("ix_runs_org_project_start", "organisation_id", "project_id", "start"),
        Index("ix_runs_experiment_start", "experiment_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="running")
    start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[float] = mapped_column(Double, default=0.0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(100))
    zone: Mapped[str | None] = mapped_column(String(100))
    provider: Mapped[str | None] = mapped_column(String(50))
    hardware_name: Mapped[str | None] = mapped_column(String(200))
    hardware: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    intensity_basis: Mapped[str | None] = mapped_column(String(50))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class IntervalRecord(_Figures, Base):
    __tablename__ = "interval_records"
    __table_args__ = (UniqueConstraint("run_pk", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_s: Mapped[float] = mapped_column(Double)
    task: Mapped[str | None] = mapped_column(String(200))
    pue: Mapped[float | None] = mapped_column(Double)
    intensity_g_per_kwh: Mapped[float | None] = mapped_column(Double)
    intensity_g_per_kwh_low: Mapped[float | None] = mapped_column(Double)
    intensity_g_per_kwh_high: Mapped[float | None] = mapped_column(Double)
    intensity_basis: Mapped[str | None] = mapped_column(String(50))
    intensity_granularity: Mapped[str | None] = mapped_column(String(20))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class BatchImport(_Figures, Base):
    __tablename__ = "batch_imports"
    __table_args__ = (UniqueConstraint("project_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(500))
    jobs: Mapped[int] = mapped_column(Integer, default=0)
    first_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BatchJob(_Figures, Base):
    __tablename__ = "batch_jobs"
    __table_args__ = (
        UniqueConstraint("import_id", "job_id"),
        Index("ix_batch_jobs_org_project_start", "organisation_id", "project_id", "start"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    import_id: Mapped[int] = mapped_column(ForeignKey("batch_imports.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(200))
    user: Mapped[str | None] = mapped_column(String(200))
    account: Mapped[str | None] = mapped_column(String(200))
    partition: Mapped[str | None] = mapped_column(String(200))
    job_project: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(50))
    region: Mapped[str | None] = mapped_column(String(100))
    zone: Mapped[str | None] = mapped_column(String(100))
    hardware: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[float | None] = mapped_column(Double)
    cpus: Mapped[float | None] = mapped_column(Double)
    gpus: Mapped[float | None] = mapped_column(Double)
    memory_gb: Mapped[float | None] = mapped_column(Double)
    pue: Mapped[float | None] = mapped_column(Double)
    intensity_g_per_kwh: Mapped[float | None] = mapped_column(Double)
    intensity_basis: Mapped[str | None] = mapped_column(String(50))
    intensity_granularity: Mapped[str | None] = mapped_column(String(20))
    energy_method: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)


class ShareLink(Base):
    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# The rollup sums the dashboard reads, carried in its covering indexes.
DASHBOARD_SUMS = (
    "count",
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "other_kwh",
)


class DailyRollup(Base):
    __tablename__ = "daily_rollups"
    __table_args__ = (
        UniqueConstraint(
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
            name="uq_daily_rollups_key",
        ),
        Index("ix_daily_rollups_org_day", "organisation_id", "day"),
        Index("ix_daily_rollups_project_day", "project_id", "day"),
        Index("ix_daily_rollups_group", "kind", "group_id", "day"),
        # Covering indexes for the dashboard's two GROUP BYs (carbon/server/dashboard/queries.py):
        # read in index order, with no sort and no lookup of the table, a page's sums cost one
        # index scan (migration 0002).
        Index("ix_daily_rollups_dash_days", "organisation_id", "day", "basis", "kind", *DASHBOARD_SUMS),
        Index(
            "ix_daily_rollups_dash_groups",
            "organisation_id",
            "project_id",
            "kind",
            "group_id",
            "basis",
            "region",
            "hardware",
            "user",
            "account",
            "day",
            *DASHBOARD_SUMS,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    group_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(String(50), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    hardware: Mapped[str] = mapped_column(String(200), default="")
    user: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float] = mapped_column(Double, default=0.0)
    energy_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    energy_kwh_low: Mapped[float] = mapped_column(Double, default=0.0)
    energy_kwh_high: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg_low: Mapped[float] = mapped_column(Double, default=0.0)
    co2e_kg_high: Mapped[float] = mapped_column(Double, default=0.0)
    cpu_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    gpu_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    ram_kwh: Mapped[float] = mapped_column(Double, default=0.0)
    other_kwh: Mapped[float] = mapped_column(Double, default=0.0)


ROLLUP_SUMS = (
    "count",
    "records",
    "duration_s",
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "other_kwh",
)
ROLLUP_KEY = (
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
)
