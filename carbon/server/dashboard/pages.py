"""One builder per page: organisation, project, experiment, run and batch import.

A builder reads what its page shows (through queries.py, filtered by the principal's organisation
and, for project tokens and share links, its project) and returns a `Page`: the template renders
it, the export routes pick one of its tables, the LaTeX routes take its paragraph. So a download
always holds the figures the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carbon.errors import CarbonError, UserInputError
from carbon.report import Comparison, compare_regions_for, format_count, region_bases
from carbon.server.auth import Principal
from carbon.server.dashboard import latex, queries
from carbon.server.dashboard.charts import Bar, LinePoint, bar_chart, line_chart
from carbon.server.dashboard.figures import BasisTotal, basis_name, duration, ordered
from carbon.server.dashboard.queries import Scope
from carbon.server.dashboard.tables import Column, Table
from carbon.server.models import (
    BatchImport,
    BatchJob,
    Experiment,
    IntervalRecord,
    Organisation,
    Project,
    Run,
)
from carbon.units import J_PER_KWH

DAILY_CHART_DAYS = 90  # the daily chart shows the last 90 days with data; the monthly one shows all
LIST_PAGE_SIZE = 100  # runs and batch jobs per listing page
RUN_INTERVALS_SHOWN = 2000  # interval rows in a run's table (the charts take every interval)


class NotFound(UserInputError, LookupError):
    """Nothing by that name within the principal's reach (another organisation's looks the same)."""


class MovedTo(CarbonError):
    """The page for this principal is elsewhere (a project token's home is its project)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@dataclass(frozen=True)
class Context:
    """What every builder needs: the request's session, who is asking, the dashboard's root URL
    and the process's rollup cache."""

    session: Session
    who: Principal
    root: str
    cache: queries.RollupCache


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    svg: str
    note: str | None = None
    table: str | None = None  # the exported table holding the chart's data


@dataclass
class Page:
    kind: str
    title: str
    base_url: str
    crumbs: list[tuple[str, str | None]]
    facts: list[tuple[str, str]] = field(default_factory=list)
    totals: list[BasisTotal] = field(default_factory=list)
    show_totals: bool = True
    comparisons: list[Comparison] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    latex: str | None = None
    latex_document: str | None = None

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise NotFound(f"no table {name!r} on this page")


# --- shared columns -------------------------------------------------------------------------------


def _figure_columns(kind: str | None) -> tuple[Column, ...]:
    counts = []
    if kind in (None, "run"):
        counts.append(Column("runs", "Runs", "count"))
    if kind in (None, "batch"):
        counts.append(Column("jobs", "Batch jobs", "count"))
    return (
        Column("basis", "Basis"),
        *counts,
        Column("energy_kwh", "Energy (PUE incl.)", "energy_kwh", ranged=True),
        Column("co2e_kg", "CO₂e", "mass_kg", ranged=True),
    )


# --- the rollup sections every aggregate page shares ----------------------------------------------


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    result = []
    while f"{year:04d}-{month:02d}" <= last:
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _trend_charts(
    totals: Sequence[BasisTotal], day_rows: Sequence[dict[str, Any]], month_rows: Sequence[dict[str, Any]]
) -> list[Chart]:
    """Per basis: CO2e by day (the last 90 days with data, empty days as zero bars) and by month."""
    charts = []
    for total in totals:
        days = {row["day"]: row for row in day_rows if row["basis"] == total.basis}
        months = {row["month"]: row for row in month_rows if row["basis"] == total.basis}
        if not days:
            continue
        last = max(days)
        first = max(min(days), last - timedelta(days=DAILY_CHART_DAYS - 1))
        day_bars = [_bar(day.isoformat(), days.get(day)) for day in _days(first, last)]
        month_bars = [_bar(month, months.get(month)) for month in _months(min(months), max(months))]
        slug = total.basis.replace(" ", "-")
        charts.append(
            Chart(
                f"day-{slug}",
                f"CO₂e by day, {total.basis} basis (kg)",
                bar_chart(day_bars, title=f"CO2e by day, {total.basis} basis", unit="kg CO2e"),
                note=f"{first} to {last}; whiskers show each day's range"
                + ("; earlier days are in the data" if first > min(days) else ""),
                table="by_day",
            )
        )
        charts.append(
            Chart(
                f"month-{slug}",
                f"CO₂e by month, {total.basis} basis (kg)",
                bar_chart(month_bars, title=f"CO2e by month, {total.basis} basis", unit="kg CO2e"),
                table="by_month",
            )
        )
    return charts


def _bar(label: str, row: dict[str, Any] | None) -> Bar:
    if row is None:
        return Bar(label, 0.0)
    return Bar(label, row["co2e_kg"], row["co2e_kg_low"], row["co2e_kg_high"])


def _comparisons(region_rows: Sequence[dict[str, Any]]) -> list[Comparison]:
    found = []
    for provider, it_kwh in sorted(queries.provider_it_kwh(region_rows).items()):
        for basis in region_bases(provider):  # one comparison per basis: never across bases
            comparison = compare_regions_for(provider, it_kwh, basis)
            if comparison is not None:
                found.append(comparison)
    return found


def _rollup_sections(ctx: Context, scope: Scope, page: Page, *, users: bool, kind: str | None) -> queries.Rollup:
    """Totals, trend charts and tables, breakdowns and the provider comparison, all from rollups."""
    rollup = ctx.cache.get(ctx.session, scope)
    page.totals = rollup.totals
    day_rows, month_rows = rollup.by_day, rollup.by_month
    region_rows = rollup.breakdown("region")
    page.charts.extend(_trend_charts(page.totals, day_rows, month_rows))
    page.comparisons = _comparisons(region_rows)
    figures = _figure_columns(kind)
    page.tables.append(Table("by_month", "By month", (Column("month", "Month"), *figures), month_rows))
    page.tables.append(Table("by_day", "By day", (Column("day", "Day"), *figures), day_rows, shown=False))
    for name, rows in (("region", region_rows), ("hardware", rollup.breakdown("hardware"))):
        for row in rows:
            row[name] = row[name] or "(unknown)"
        page.tables.append(Table(f"by_{name}", f"By {name}", (Column(name, name.capitalize()), *figures), rows))
    page.tables.append(
        Table(
            "by_component",
            "By component (IT energy, before PUE)",
            (Column("component", "Component"), Column("basis", "Basis"), Column("it_kwh", "IT energy", "energy_kwh")),
            queries.components(page.totals),
        )
    )
    if users:
        for name in ("user", "account"):
            rows = rollup.breakdown(name, kind="batch")
            for row in rows:
                row[name] = row[name] or "(unknown)"
            page.tables.append(
                Table(
                    f"by_{name}",
                    f"By {name} (batch jobs)",
                    (Column(name, name.capitalize()), *_figure_columns("batch")),
                    rows,
                    note="Users and accounts come from the job logs of batch imports; tracked runs carry neither.",
                )
            )
    return rollup


def _latex(page: Page, subject: str, detail: str | None = None) -> None:
    page.latex = latex.paragraph(subject, page.totals, detail)
    page.latex_document = latex.document(subject, page.totals, detail)


# --- lookups within reach -------------------------------------------------------------------------


def organisation_of(session: Session, who: Principal) -> Organisation:
    organisation = session.get(Organisation, who.organisation_id)
    if organisation is None:
        raise NotFound("no such organisation")
    return organisation


def project_of(ctx: Context, slug: str) -> Project:
    query = select(Project).where(Project.organisation_id == ctx.who.organisation_id, Project.slug == slug)
    if ctx.who.project_id is not None:
        query = query.where(Project.id == ctx.who.project_id)
    project = ctx.session.scalars(query).first()
    if project is None:
        raise NotFound(f"no project {slug!r}")
    return project


def _one(ctx: Context, model: Any, *conditions: Any) -> Any:
    """The row of `model` meeting `conditions`, within the principal's organisation, or NotFound."""
    found = ctx.session.scalars(
        select(model).where(model.organisation_id == ctx.who.organisation_id, *conditions)
    ).first()
    if found is None:
        raise NotFound(f"no such {model.__tablename__[:-1].replace('_', ' ')}")
    return found


def _crumbs(ctx: Context, *trail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """The trail from the organisation (for organisation principals) down to this page."""
    crumbs = list(trail)
    if ctx.who.project_id is None:
        crumbs.insert(0, (organisation_of(ctx.session, ctx.who).name, ctx.root))
    return crumbs


def _named(rows: list[dict[str, Any]], key: str, names: dict[int, str], label: str, url: Callable[[int], str]) -> None:
    for row in rows:
        row[label] = names.get(row[key], str(row[key]))
        row["url"] = url(row[key])


def _list_offset(number: int) -> int:
    return max(0, number - 1) * LIST_PAGE_SIZE


# --- pages ----------------------------------------------------------------------------------------


def organisation_page(ctx: Context) -> Page:
    if ctx.who.project_id is not None:
        project = ctx.session.get(Project, ctx.who.project_id)
        raise MovedTo(f"{ctx.root}p/{project.slug}/" if project else f"{ctx.root}login")
    organisation = organisation_of(ctx.session, ctx.who)
    page = Page("organisation", organisation.name, ctx.root, [(organisation.name, None)])
    rollup = _rollup_sections(ctx, Scope(organisation.id), page, users=True, kind=None)
    projects = {
        p.id: p
        for p in ctx.session.scalars(
            select(Project).where(Project.organisation_id == organisation.id).order_by(Project.slug)
        )
    }
    rows = rollup.breakdown("project_id")
    _named(
        rows,
        "project_id",
        {i: p.name for i, p in projects.items()},
        "project",
        lambda i: f"{ctx.root}p/{projects[i].slug}/" if i in projects else "",
    )
    page.tables.insert(
        0,
        Table(
            "projects",
            "Projects",
            (Column("project", "Project"), *_figure_columns(None)),
            rows,
            links={"project": "url"},
        ),
    )
    idle = [p.name for i, p in projects.items() if i not in {row["project_id"] for row in rows}]
    page.facts = [("Projects", format_count(len(projects)))]
    if idle:
        page.facts.append(("Projects with no data yet", ", ".join(idle)))
    return page


def project_page(ctx: Context, slug: str) -> Page:
    project = project_of(ctx, slug)
    base = f"{ctx.root}p/{project.slug}/"
    page = Page("project", project.name, base, _crumbs(ctx, (project.name, None)))
    rollup = _rollup_sections(ctx, Scope(ctx.who.organisation_id, project.id), page, users=True, kind=None)
    in_project = (Experiment.organisation_id == ctx.who.organisation_id, Experiment.project_id == project.id)
    names = dict(ctx.session.execute(select(Experiment.id, Experiment.name).where(*in_project)).all())
    experiments = rollup.breakdown("group_id", kind="run")
    _named(experiments, "group_id", names, "experiment", lambda i: f"{base}experiments/{i}/")
    sources = dict(
        ctx.session.execute(
            select(BatchImport.id, BatchImport.source).where(
                BatchImport.organisation_id == ctx.who.organisation_id, BatchImport.project_id == project.id
            )
        ).all()
    )
    imports = rollup.breakdown("group_id", kind="batch")
    _named(imports, "group_id", sources, "source", lambda i: f"{base}batches/{i}/")
    page.tables[0:0] = [
        Table(
            "experiments",
            "Experiments",
            (Column("experiment", "Experiment"), *_figure_columns("run")),
            experiments,
            links={"experiment": "url"},
        ),
        Table(
            "batch_imports",
            "Batch imports",
            (Column("source", "Source"), *_figure_columns("batch")),
            imports,
            links={"source": "url"},
        ),
    ]
    page.facts = [("Experiments", format_count(len(names))), ("Batch imports", format_count(len(sources)))]
    if ctx.who.kind == "share":
        page.facts.append(("Access", "read-only share link"))
    _latex(page, f"project {project.name}")
    return page


def experiment_page(ctx: Context, slug: str, experiment_id: int, number: int) -> Page:
    project = project_of(ctx, slug)
    experiment = _one(ctx, Experiment, Experiment.project_id == project.id, Experiment.id == experiment_id)
    project_url = f"{ctx.root}p/{project.slug}/"
    page = Page(
        "experiment",
        experiment.name,
        f"{project_url}experiments/{experiment.id}/",
        _crumbs(ctx, (project.name, project_url), (experiment.name, None)),
    )
    scope = Scope(ctx.who.organisation_id, project.id, "run", experiment.id)
    _rollup_sections(ctx, scope, page, users=False, kind="run")
    runs = ctx.session.scalars(
        select(Run)
        .where(Run.organisation_id == ctx.who.organisation_id, Run.experiment_id == experiment.id)
        .order_by(Run.start.desc(), Run.id.desc())
        .offset(_list_offset(number))
        .limit(LIST_PAGE_SIZE)
    ).all()
    rows = [_run_row(run, f"{project_url}runs/{run.id}/") for run in runs]
    first = _list_offset(number) + 1
    page.tables.insert(
        0,
        Table(
            "runs",
            "Runs",
            RUN_COLUMNS,
            rows,
            note=f"runs {first}–{first + len(rows) - 1}, newest first; ?page=N for more" if rows else None,
            links={"run_id": "url"},
        ),
    )
    _latex(page, f"experiment {experiment.name} of project {project.name}")
    return page


RUN_COLUMNS = (
    Column("run_id", "Run"),
    Column("status", "Status"),
    Column("start", "Start (UTC)", "datetime"),
    Column("duration_s", "Duration", "duration_s"),
    Column("region", "Region"),
    Column("hardware", "Hardware"),
    Column("basis", "Basis"),
    Column("energy_kwh", "Energy (PUE incl.)", "energy_kwh", ranged=True),
    Column("co2e_kg", "CO₂e", "mass_kg", ranged=True),
)
FIGURE_KEYS = ("energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high")


def _run_row(run: Run, url: str) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "url": url,
        "status": run.status,
        "start": run.start,
        "duration_s": run.duration_s,
        "region": run.region,
        "hardware": run.hardware_name,
        "basis": basis_name(run.intensity_basis),
        **{key: getattr(run, key) for key in FIGURE_KEYS},
    }


INTERVAL_COLUMNS = (
    Column("seq", "#", "count"),
    Column("start", "Start (UTC)", "datetime"),
    Column("duration_s", "Duration", "duration_s"),
    Column("task", "Task"),
    Column("power_w", "Power (W, PUE incl.)", "power_w"),
    Column("intensity_g_per_kwh", "Intensity (g/kWh)", "intensity"),
    Column("basis", "Basis"),
    Column("energy_kwh", "Energy (PUE incl.)", "energy_kwh", ranged=True),
    Column("co2e_kg", "CO₂e", "mass_kg", ranged=True),
)


def _interval_row(record: IntervalRecord) -> dict[str, Any]:
    """An interval's figures; power = facility energy over the interval's length."""
    power_w = record.energy_kwh * J_PER_KWH / record.duration_s if record.duration_s > 0 else None
    return {
        "seq": record.seq,
        "start": record.start,
        "end": record.end,
        "duration_s": record.duration_s,
        "task": record.task,
        "power_w": power_w,
        "intensity_g_per_kwh": record.intensity_g_per_kwh,
        "basis": basis_name(record.intensity_basis),
        "kind": "run",
        "count": 0,
        **{key: getattr(record, key) for key in queries.SUMMED},
    }


def _interval_totals(rows: Sequence[dict[str, Any]]) -> list[BasisTotal]:
    """A run's totals per basis from its own intervals (a live source may change basis mid-run)."""
    return ordered(
        BasisTotal(
            basis=values["basis"],
            runs=1,
            jobs=0,
            energy_kwh=queries.bounds_of(values, "energy_kwh"),
            co2e_kg=queries.bounds_of(values, "co2e_kg"),
            it_kwh=values["it_kwh"],
            components_kwh={c: values[f"{c}_kwh"] for c in queries.COMPONENTS},
        )
        for values in queries.fold(rows, ())
    )


def run_page(ctx: Context, slug: str, run_pk: int) -> Page:
    project = project_of(ctx, slug)
    run = _one(ctx, Run, Run.project_id == project.id, Run.id == run_pk)
    experiment = _one(ctx, Experiment, Experiment.id == run.experiment_id)
    project_url = f"{ctx.root}p/{project.slug}/"
    experiment_url = f"{project_url}experiments/{run.experiment_id}/"
    page = Page(
        "run",
        run.run_id,
        f"{project_url}runs/{run.id}/",
        _crumbs(ctx, (project.name, project_url), (experiment.name, experiment_url), (run.run_id, None)),
    )
    records = ctx.session.scalars(
        select(IntervalRecord)
        .where(IntervalRecord.organisation_id == ctx.who.organisation_id, IntervalRecord.run_pk == run.id)
        .order_by(IntervalRecord.seq)
    ).all()
    rows = [_interval_row(record) for record in records]
    page.totals = _interval_totals(rows)
    page.facts = _run_facts(run, rows)
    page.charts = _run_charts(rows)
    if run.provider:  # each basis's IT energy, compared on that basis only
        page.comparisons = [
            comparison
            for total in page.totals
            if (comparison := compare_regions_for(run.provider, total.it_kwh, total.basis)) is not None
        ]
    page.tables = [
        Table(
            "intervals",
            "Intervals",
            INTERVAL_COLUMNS,
            rows[:RUN_INTERVALS_SHOWN],
            note=f"first {RUN_INTERVALS_SHOWN:,} of {len(rows):,} intervals"
            if len(rows) > RUN_INTERVALS_SHOWN
            else None,
        ),
        Table(
            "by_component",
            "By component (IT energy, before PUE)",
            (Column("component", "Component"), Column("basis", "Basis"), Column("it_kwh", "IT energy", "energy_kwh")),
            queries.components(page.totals),
        ),
    ]
    detail = ", ".join(part for part in (run.hardware_name, run.region) if part) or None
    _latex(page, f"run {run.run_id}", detail)
    return page


def _run_facts(run: Run, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The run page's fact list: what is known of the run, in reading order."""
    return [
        (label, value)
        for label, value in (
            ("Status", run.status),
            ("Start (UTC)", f"{run.start:%Y-%m-%d %H:%M:%S}" if run.start else None),
            ("End (UTC)", f"{run.end:%Y-%m-%d %H:%M:%S}" if run.end else None),
            ("Duration", duration(run.duration_s)),
            ("Intervals", format_count(len(rows))),
            ("Region", run.region),
            ("Grid zone", run.zone),
            ("Hardware", run.hardware_name),
            ("Mode", run.mode),
            ("Exit code", None if run.exit_code is None else str(run.exit_code)),
        )
        if value
    ]


def _run_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    """Power and grid intensity per interval, each plotted at the interval's middle."""
    timed = [(row["start"] + (row["end"] - row["start"]) / 2, row) for row in rows if row["duration_s"] > 0]
    return [
        Chart(
            "power",
            "Power per interval (W, facility: IT × PUE)",
            line_chart([LinePoint(at, row["power_w"]) for at, row in timed], title="Power per interval", unit="W"),
        ),
        Chart(
            "intensity",
            "Grid carbon intensity per interval (gCO₂e/kWh)",
            line_chart(
                [
                    LinePoint(at, row["intensity_g_per_kwh"])
                    for at, row in timed
                    if row["intensity_g_per_kwh"] is not None
                ],
                title="Grid carbon intensity per interval",
                unit="g/kWh",
            ),
        ),
    ]


JOB_COLUMNS = (
    Column("job_id", "Job"),
    Column("user", "User"),
    Column("account", "Account"),
    Column("state", "State"),
    Column("start", "Start (UTC)", "datetime"),
    Column("duration_s", "Duration", "duration_s"),
    Column("region", "Region"),
    Column("hardware", "Hardware"),
    Column("basis", "Basis"),
    Column("energy_kwh", "Energy (PUE incl.)", "energy_kwh", ranged=True),
    Column("co2e_kg", "CO₂e", "mass_kg", ranged=True),
)


def batch_page(ctx: Context, slug: str, import_id: int, number: int) -> Page:
    project = project_of(ctx, slug)
    batch = _one(ctx, BatchImport, BatchImport.project_id == project.id, BatchImport.id == import_id)
    project_url = f"{ctx.root}p/{project.slug}/"
    page = Page(
        "batch import",
        batch.source,
        f"{project_url}batches/{batch.id}/",
        _crumbs(ctx, (project.name, project_url), (batch.source, None)),
    )
    page.facts = [
        ("Jobs", format_count(batch.jobs)),
        ("First start (UTC)", f"{batch.first_start:%Y-%m-%d %H:%M}" if batch.first_start else "–"),
        ("Last end (UTC)", f"{batch.last_end:%Y-%m-%d %H:%M}" if batch.last_end else "–"),
    ]
    _rollup_sections(ctx, Scope(ctx.who.organisation_id, project.id, "batch", batch.id), page, users=True, kind="batch")
    jobs = ctx.session.scalars(
        select(BatchJob)
        .where(BatchJob.organisation_id == ctx.who.organisation_id, BatchJob.import_id == batch.id)
        .order_by(BatchJob.job_id)
        .offset(_list_offset(number))
        .limit(LIST_PAGE_SIZE)
    ).all()
    rows = [
        {
            **{key: getattr(job, key) for key in ("job_id", "user", "account", "state", "start", "duration_s")},
            **{key: getattr(job, key) for key in ("region", "hardware", *FIGURE_KEYS)},
            "basis": basis_name(job.intensity_basis),
        }
        for job in jobs
    ]
    first = _list_offset(number) + 1
    page.tables.insert(
        0,
        Table(
            "jobs",
            "Jobs",
            JOB_COLUMNS,
            rows,
            note=f"jobs {first}–{first + len(rows) - 1} by job id; ?page=N for more" if rows else None,
        ),
    )
    _latex(page, f"batch import {batch.source} of project {project.name}")
    return page
