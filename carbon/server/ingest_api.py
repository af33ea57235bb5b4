"""Collection routes: interval records, run summaries and batch results into a project.

    POST /v1/ingest/runs            carbon.run/1 lines and carbon.run-summary/1 objects
    POST /v1/ingest/batch           rows of `carbon batch` output (?source= for rows without one)
    GET  /v1/ingest/runs/{run_id}   what the server holds of a run (records, max_seq, status)
    GET  /v1/ingest/batch?source=   what the server holds of a batch source (jobs)

Bodies: a JSON array, `{"records": [...]}`, or JSON lines (`Content-Type: application/x-ndjson`,
the run log's own bytes). The project is the token's own; an organisation (admin) token names
it with `?project=SLUG`. The answer lists the index and reason of every record refused; the
others are stored (HTTP 200). At most `max_records` records per request (413 above).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from carbon.server import ingest, records
from carbon.server.auth import Principal
from carbon.server.deps import DbSession, project_in_reach, require
from carbon.server.errors import Problem
from carbon.server.estimate_api import json_response

router = APIRouter(
    prefix="/v1/ingest",
    tags=["collection"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)

ProjectParam = Annotated[
    str | None, Query(max_length=100, description="project slug (organisation tokens only; default: the token's)")
]

INTERVAL_EXAMPLE = {
    "schema": "carbon.run/1",
    "run_id": "20261203T071500Z-a1b2c3",
    "seq": 0,
    "start": "2026-12-03T07:15:00.000000Z",
    "end": "2026-12-03T07:15:10.000000Z",
    "duration_s": 10.0,
    "experiment": "baseline",
    "region": "FR",
    "location": {"provider": None, "region": "FR", "zone": "FR", "country": "FR"},
    "energy_kwh": 0.0001,
    "energy_kwh_low": 0.00009,
    "energy_kwh_high": 0.00012,
    "co2e_kg": 0.0000044,
    "co2e_kg_low": 0.000002,
    "co2e_kg_high": 0.000006,
    "intensity_g_per_kwh": 44.18,
    "intensity_basis": "lifecycle",
    "pue": 1.0,
    "breakdown": {"cpu_kwh": 0.00008, "gpu_kwh": 0.0, "ram_kwh": 0.00002, "other_kwh": 0.0},
}
BATCH_EXAMPLE = {
    "source": "sacct-2026-11.txt",
    "job_id": "123456",
    "user": "ada",
    "account": "physics",
    "state": "COMPLETED",
    "region": "FR",
    "start": "2026-11-02T10:00:00Z",
    "end": "2026-11-02T12:00:00Z",
    "energy_kwh": 1.5,
    "energy_kwh_low": 1.2,
    "energy_kwh_high": 1.9,
    "co2e_kg": 0.066,
    "co2e_kg_low": 0.03,
    "co2e_kg_high": 0.09,
    "intensity_basis": "lifecycle",
}


class Rejected(BaseModel):
    index: int
    reason: str


class IngestAnswer(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[Rejected]


async def _items(request: Request, result: ingest.IngestResult) -> list[tuple[int, Any]]:
    body = await request.body()
    try:
        items = records.parse_body(body, request.headers.get("content-type", ""), result.reject)
    except records.Invalid as error:
        raise HTTPException(422, str(error)) from None
    limit = request.app.state.settings.max_records
    if len(items) + len(result.rejected) > limit:
        raise HTTPException(413, f"more than {limit} records in one request; send them in parts")
    return items


def _store(store: Any, session: Any, who: Principal, project: str | None, result: ingest.IngestResult) -> Response:
    """Runs in a worker thread: the database work of one ingest request, committed as one transaction."""
    target = project_in_reach(session, who, project)
    store(session, target)
    session.commit()
    return json_response(result.to_dict())


def _records_body(example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body both ingest routes take: a JSON array of records, or JSON lines."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}, "example": [example]},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    }


@router.post(
    "/runs",
    summary="store interval records (carbon.run/1) and run summaries (carbon.run-summary/1)",
    response_model=IngestAnswer,
    openapi_extra=_records_body(INTERVAL_EXAMPLE),
)
async def post_runs(
    request: Request,
    session: DbSession,
    who: Annotated[Principal, Depends(require("ingest"))],
    project: ProjectParam = None,
) -> Response:
    result = ingest.IngestResult()
    items = await _items(request, result)

    def store(session: Any, target: Any) -> None:
        ingest.ingest_runs(session, target, items, result)

    return await run_in_threadpool(_store, store, session, who, project, result)


@router.post(
    "/batch",
    summary="store rows of `carbon batch` output, once per (source, job_id)",
    response_model=IngestAnswer,
    openapi_extra=_records_body(BATCH_EXAMPLE),
)
async def post_batch(
    request: Request,
    session: DbSession,
    who: Annotated[Principal, Depends(require("ingest"))],
    project: ProjectParam = None,
    source: Annotated[str | None, Query(max_length=500, description="source for rows that name none")] = None,
) -> Response:
    if source is not None and "\x00" in source:
        raise HTTPException(422, "source contains a NUL character")
    result = ingest.IngestResult()
    items = await _items(request, result)

    def store(session: Any, target: Any) -> None:
        ingest.ingest_batch(session, target, items, result, default_source=source)

    return await run_in_threadpool(_store, store, session, who, project, result)


class RunState(BaseModel):
    run_id: str
    records: int
    max_seq: int | None
    status: str


@router.get("/runs/{run_id}", summary="what the server holds of a run", response_model=RunState)
def get_run_state(
    run_id: str,
    session: DbSession,
    who: Annotated[Principal, Depends(require("ingest"))],
    project: ProjectParam = None,
) -> Response:
    target = project_in_reach(session, who, project)
    state = ingest.run_state(session, target, run_id)
    if state is None:
        raise HTTPException(404, f"no run {run_id!r} in this project")
    return json_response(state)


class BatchState(BaseModel):
    source: str
    jobs: int


@router.get("/batch", summary="what the server holds of a batch source", response_model=BatchState)
def get_batch_state(
    session: DbSession,
    who: Annotated[Principal, Depends(require("ingest"))],
    source: Annotated[str, Query(max_length=500)],
    project: ProjectParam = None,
) -> Response:
    target = project_in_reach(session, who, project)
    state = ingest.batch_state(session, target, source)
    if state is None:
        raise HTTPException(404, f"no batch source {source!r} in this project")
    return json_response(state)
