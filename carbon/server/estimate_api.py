"""The public estimate API: the CLI's estimate, regions, intensity and hardware lookups over HTTP.

Same inputs as `carbon estimate` (option names with underscores) and exactly the JSON of
`carbon estimate --format json` (carbon.report.to_json): no arithmetic here. These routes store
nothing and need no token. Responses are serialised with orjson and the lookups behind them are
cached per bundle, so one worker answers well over a thousand estimates a second. The routes
whose work is pure computation on cached tables are `async` (run on the event loop, no thread
hop); the intensity route may call a live API and runs in the thread pool.

Errors are `{"detail": "one line"}`: 422 for inputs that cannot give an estimate (an unknown
region among them, with the closest valid codes), 404 for an unknown zone, provider or instance
type in a lookup path.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from carbon.bundle import derived
from carbon.cli.regions_cmd import region_rows
from carbon.server.errors import Problem

router = APIRouter(prefix="/v1", tags=["estimate"], responses={422: {"model": Problem}})
PROVIDERS = ("aws", "gcp", "azure")


def message(error: Exception) -> str:
    """The error's text, without the quotes str() puts around a KeyError's."""
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


class EstimateRequest(BaseModel):
    """The options of `carbon estimate`: a region and either the energy or the hardware and a duration."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"region": "aws:us-east-1", "instance_type": "m5.xlarge", "duration": "1h", "cpu_util": 0.5},
                {"region": "FR", "energy_kwh": 12.5},
                {
                    "region": "US-CA",
                    "cpus": 32,
                    "cpu_model": "AMD EPYC 7763",
                    "memory_gb": 256,
                    "gpus": 4,
                    "gpu_model": "A100 SXM4 80GB",
                    "gpu_util": "80%",
                    "duration": "2d",
                    "year": 2023,
                },
            ]
        },
    )

    region: str = Field(max_length=200, description="FR, FRA, US-CA, aws:us-east-1, gcp:europe-west1, azure:westeurope")
    energy_kwh: float | None = Field(None, ge=0, description="IT energy already known, kWh (PUE is applied on top)")
    instance_type: str | None = Field(None, max_length=200, description="cloud instance type, e.g. m5.xlarge")
    cpus: float | None = Field(None, gt=0, le=1_000_000, description="vCPUs (hardware threads) used")
    cpu_model: str | None = Field(None, max_length=200, description="CPU model, e.g. 'Intel Xeon Gold 6248'")
    memory_gb: float | None = Field(None, ge=0, le=1e9, description="memory allocated, GB")
    gpus: int = Field(0, ge=0, le=100_000, description="number of GPUs")
    gpu_model: str | None = Field(None, max_length=200, description="GPU model, e.g. A100 SXM4 80GB")
    duration: str | float | None = Field(
        None, description="how long it ran: 3h, 90m, 1h30m, 45s, HH:MM:SS, or a number of seconds"
    )
    cpu_util: str | float | None = Field(None, description="average CPU utilisation, 0-1 or '0%'-'100%'")
    gpu_util: str | float | None = Field(None, description="average GPU utilisation, 0-1 or '0%'-'100%'")
    year: int | None = Field(None, ge=1990, le=2100, description="price with the intensity of this year")
    start: datetime | None = Field(None, description="price with the intensity at this time (ISO 8601)")
    pue: float | None = Field(None, description="override the data-centre PUE (1.0-3.0)")


def _fraction(name: str, value: str | float | None) -> float | None:
    from carbon.cli.options import _fraction

    if value is None:
        return None
    try:
        return _fraction(str(value))
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


def _duration_s(value: str | float | None) -> float | None:
    from carbon.units import parse_duration_s

    if value is None or isinstance(value, float | int):
        if value is not None and not 0 <= value < 1e12:
            raise HTTPException(422, f"duration must be a non-negative number of seconds, got {value}")
        return value
    try:
        return parse_duration_s(value)
    except ValueError as error:
        raise HTTPException(422, f"duration: {error}") from None


@router.post(
    "/estimate",
    summary="CO2e of work in a region, from its energy or its hardware and duration",
    description="Answers exactly the JSON of `carbon estimate --format json`.",
    responses={
        200: {
            "description": "the estimate, its range and sources, equivalents and (on the cloud) the comparison",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def post_estimate(body: EstimateRequest) -> Response:
    from carbon import report
    from carbon.intensity.base import IntensityError
    from carbon.pricing import EstimateError, estimate

    if body.year is not None and body.start is not None:
        raise HTTPException(422, "give year or start, not both")
    start = body.start
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    try:
        result = estimate(
            body.region,
            energy_kwh=body.energy_kwh,
            instance_type=body.instance_type,
            cpus=body.cpus,
            cpu_model=body.cpu_model,
            memory_gb=body.memory_gb,
            gpus=body.gpus,
            gpu_model=body.gpu_model,
            duration_s=_duration_s(body.duration),
            cpu_util=_fraction("cpu_util", body.cpu_util),
            gpu_util=_fraction("gpu_util", body.gpu_util),
            year=body.year,
            start=start,
            pue=body.pue,
        )
    except (EstimateError, IntensityError, ValueError) as error:  # UnknownRegion is a ValueError
        raise HTTPException(422, message(error)) from None
    return json_response(report.to_json(result))


@derived
def _regions(provider: str | None) -> list[dict[str, Any]]:
    return region_rows(provider)


@router.get(
    "/regions",
    summary="every region code with its grid zone and latest bundled intensity",
    description="The rows of `carbon regions --format json`.",
    responses={200: {"content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}},
)
async def get_regions(provider: Annotated[str | None, Query(pattern="^(aws|gcp|azure)$")] = None) -> Response:
    return json_response(_regions(provider))


@router.get(
    "/intensity/{zone}",
    summary="grid intensity of a zone at a time, or an hourly series",
    description="Through the configured source chain (`intensity_sources`, live sources behind the shared "
    "cache, the bundled tables last); the fields of `carbon intensity --format json`. "
    "Unknown zone: 404.",
    responses={
        200: {
            "description": "one value (at), or a list of values (from, to)",
            "content": {
                "application/json": {
                    "schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
                }
            },
        },
        404: {"model": Problem},
    },
)
def get_intensity(
    request: Request,
    zone: str,
    at: Annotated[datetime | None, Query(description="ISO 8601 time (default: now)")] = None,
    start: Annotated[datetime | None, Query(alias="from", description="series start (with to)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="series end, exclusive")] = None,
) -> Response:
    from carbon.cli.intensity_cmd import _row
    from carbon.intensity.base import IntensityError

    if (start is None) != (end is None):
        raise HTTPException(422, "from and to go together")
    if at is not None and start is not None:
        raise HTTPException(422, "give at, or from and to, not both")
    chain = _chain(request)
    try:
        if start is not None and end is not None:
            start, end = _utc(start), _utc(end)
            if end <= start:
                raise HTTPException(422, "to must be after from")
            if (end - start).days > 366:
                raise HTTPException(422, "a series spans at most 366 days")
            return json_response([_row(v) for v in chain.series(zone, start, end)])
        return json_response(_row(chain.at(zone, _utc(at) if at else datetime.now(timezone.utc))))
    except IntensityError as error:
        raise HTTPException(404, message(error)) from None
    except ValueError as error:
        raise HTTPException(422, message(error)) from None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _chain(request: Request) -> Any:
    """The intensity chain from the server's settings (built once per app: it holds the live cache)."""
    chain = getattr(request.app.state, "intensity_chain", None)
    if chain is None:
        from carbon.config import load
        from carbon.intensity.chain import build_chain

        chain = request.app.state.intensity_chain = build_chain(load())
    return chain


@router.get(
    "/hardware/{provider}/{instance_type}",
    summary="the hardware of a cloud instance type, from the bundled catalogs",
    description="Unknown types of a known family are estimated from their siblings (with a warning); otherwise 404.",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        404: {"model": Problem},
    },
)
async def get_hardware(provider: str, instance_type: str) -> Response:
    from carbon import catalog

    if provider not in PROVIDERS:
        raise HTTPException(404, f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    warnings: list[str] = []
    hardware = catalog.instance(provider, instance_type)
    method = "catalog"
    if hardware is None:
        try:
            hardware, warning = catalog.estimate_instance_from_family(provider, instance_type)
        except LookupError as error:
            raise HTTPException(404, message(error)) from None
        warnings.append(warning)
        method = "family estimate"
    return json_response(
        {
            "provider": provider,
            "instance_type": instance_type,
            "hardware": hardware.to_dict(),
            "method": method,
            "warnings": warnings,
        }
    )
