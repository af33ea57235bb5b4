"""Read routes (the `read` scope, or a share link): projects, their totals, runs and batch imports.

    GET /v1/projects                                   projects within the token's reach, with totals
    GET /v1/projects/{project}/totals                  totals per kind and basis (from the rollups)
    GET /v1/projects/{project}/runs                    runs, newest first (limit, offset)
    GET /v1/projects/{project}/runs/{run_id}           one run with its interval records
    GET /v1/projects/{project}/batch                   batch imports
    GET /v1/share/{secret}                             a share link's project and totals (no token)

Totals are never mixed across emission-factor bases (lifecycle, operational, direct): each
basis is its own row. Every query is filtered by the principal's organisation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carbon.server.auth import Principal, authenticate_share
from carbon.server.deps import DbSession, project_in_reach, require
from carbon.server.errors import Problem
from carbon.server.estimate_api import json_response
from carbon.server.models import BatchImport, DailyRollup, Experiment, IntervalRecord, Project, Run
from carbon.units import J_PER_KWH

router = APIRouter(
    prefix="/v1",
    tags=["read"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
Reader = Annotated[Principal, Depends(require("read"))]
OBJECT: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {"schema": {"type": "object"}}}}}
ARRAY: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}
}
FIGURES = ("energy_kwh", "energy_kwh_low", "energy_kwh_high", "co2e_kg", "co2e_kg_low", "co2e_kg_high")


def totals(session: Session, organisation_id: int, project_id: int | None = None) -> list[dict[str, Any]]:
    """Sums per (kind, basis) from the daily rollups of an organisation, or of one of its projects."""
    columns = [func.sum(getattr(DailyRollup, name)) for name in ("count", "records", *FIGURES)]
    query = (
        select(DailyRollup.kind, DailyRollup.basis, *columns)
        .where(DailyRollup.organisation_id == organisation_id)
        .group_by(DailyRollup.kind, DailyRollup.basis)
        .order_by(DailyRollup.kind, DailyRollup.basis)
    )
    if project_id is not None:
        query = query.where(DailyRollup.project_id == project_id)
    rows = []
    for kind, basis, count, records, *sums in session.execute(query):
        rows.append(
            {
                "kind": kind,
                "basis": basis or None,
                "count": int(count or 0),
                "records": int(records or 0),
                **{name: float(value or 0.0) for name, value in zip(FIGURES, sums)},
            }
        )
    return rows


def _project_row(session: Session, project: Project) -> dict[str, Any]:
    return {
        "project": project.slug,
        "name": project.name,
        "totals": totals(session, project.organisation_id, project.id),
    }


@router.get("/projects", summary="projects within the token's reach, with their totals", responses=ARRAY)
def list_projects(session: DbSession, who: Reader) -> Response:
    query = select(Project).where(Project.organisation_id == who.organisation_id).order_by(Project.slug)
    if who.project_id is not None:
        query = query.where(Project.id == who.project_id)
    return json_response([_project_row(session, p) for p in session.scalars(query)])


@router.get("/projects/{project}/totals", summary="a project's totals per kind and basis", responses=OBJECT)
def project_totals(project: str, session: DbSession, who: Reader) -> Response:
    return json_response(_project_row(session, project_in_reach(session, who, project)))


def _run_row(run: Run, experiment: str) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "experiment": experiment,
        "status": run.status,
        "start": _iso(run.start),
        "end": _iso(run.end),
        "duration_s": run.duration_s,
        "records": run.records,
        "region": run.region,
        "hardware": run.hardware_name,
        "intensity_basis": run.intensity_basis,
        "exit_code": run.exit_code,
        **{name: getattr(run, name) for name in FIGURES},
        "breakdown": {name: getattr(run, name) for name in ("cpu_kwh", "gpu_kwh", "ram_kwh", "other_kwh")},
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@router.get("/projects/{project}/runs", summary="a project's runs, newest first", responses=ARRAY)
def list_runs(
    project: str,
    session: DbSession,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    experiment: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    target = project_in_reach(session, who, project)
    query = (
        select(Run, Experiment.name)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(Run.organisation_id == who.organisation_id, Run.project_id == target.id)
        .order_by(Run.start.desc(), Run.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if experiment is not None:
        query = query.where(Experiment.name == experiment)
    return json_response([_run_row(run, name) for run, name in session.execute(query)])


@router.get("/projects/{project}/runs/{run_id}", summary="one run with its interval records", responses=OBJECT)
def get_run(
    project: str,
    run_id: str,
    session: DbSession,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    target = project_in_reach(session, who, project)
    found = session.execute(
        select(Run, Experiment.name)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(Run.organisation_id == who.organisation_id, Run.project_id == target.id, Run.run_id == run_id)
    ).first()
    if found is None:
        raise HTTPException(404, f"no run {run_id!r} in project {project!r}")
    run, experiment = found
    intervals = session.scalars(
        select(IntervalRecord)
        .where(IntervalRecord.organisation_id == who.organisation_id, IntervalRecord.run_pk == run.id)
        .order_by(IntervalRecord.seq)
        .limit(limit)
    )
    payload = _run_row(run, experiment)
    payload["summary"] = run.summary
    payload["intervals"] = [
        {
            "seq": r.seq,
            "start": _iso(r.start),
            "end": _iso(r.end),
            "duration_s": r.duration_s,
            "task": r.task,
            "intensity_g_per_kwh": r.intensity_g_per_kwh,
            "pue": r.pue,
            **{name: getattr(r, name) for name in FIGURES},
            "power_w": r.energy_kwh * J_PER_KWH / r.duration_s if r.duration_s else None,
        }
        for r in intervals
    ]
    return json_response(payload)


@router.get("/projects/{project}/batch", summary="a project's batch imports", responses=ARRAY)
def list_batch(project: str, session: DbSession, who: Reader) -> Response:
    target = project_in_reach(session, who, project)
    imports = session.scalars(
        select(BatchImport)
        .where(BatchImport.organisation_id == who.organisation_id, BatchImport.project_id == target.id)
        .order_by(BatchImport.source)
    )
    return json_response(
        [
            {
                "source": b.source,
                "jobs": b.jobs,
                "first_start": _iso(b.first_start),
                "last_end": _iso(b.last_end),
                **{name: getattr(b, name) for name in FIGURES},
            }
            for b in imports
        ]
    )


@router.get(
    "/share/{secret}",
    tags=["read"],
    summary="the project behind a read-only share link, with its totals (no token needed)",
    responses=OBJECT,
)
def shared_project(secret: str, session: DbSession) -> Response:
    who = authenticate_share(session, secret)
    if who is None or who.project_id is None:
        raise HTTPException(404, "no such share link (or it was revoked)")
    project = session.scalars(
        select(Project).where(Project.organisation_id == who.organisation_id, Project.id == who.project_id)
    ).one()
    return json_response(_project_row(session, project))
