"""Schemathesis against the published OpenAPI schema, bounded: no 5xx, auth on every non-public route,
no read or write across organisations. On SQLite and PostgreSQL.

Three organisations: `acme` holds data nobody else may see or change; `globex` fuzzes every route
with its own tokens (each answer must be free of acme's markers); `initech` fuzzes with its tokens
to look for server errors. Organisation slugs differ but every project is called `ml`, so a
missing organisation filter would show at once.
"""

from __future__ import annotations

import itertools

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient
from fixtures.server_app import app_on, bearer, seed
from fixtures.server_db import fresh_database
from hypothesis import HealthCheck, Phase, settings

PUBLIC = ("/v1/estimate", "/v1/regions", "/v1/intensity/", "/v1/hardware/", "/v1/health", "/v1/share/")
MARKERS = ("acme-secret-task", "0.123456789")  # in acme's data only, never in a path or query
BOUND = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
)
_calls = itertools.count()


def acme_records() -> list[dict]:
    return [
        {
            "run_id": "acme-secret-run",
            "seq": seq,
            "start": f"2026-11-01T00:0{seq}:00Z",
            "end": f"2026-11-01T00:0{seq}:10Z",
            "duration_s": 10,
            "energy_kwh": 1.0,
            "co2e_kg": 0.123456789,
            "intensity_basis": "lifecycle",
            "task": "acme-secret-task",
        }
        for seq in range(3)
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, _templates, tmp_path_factory):
    url = fresh_database(request.param, request, _templates, tmp_path_factory.mktemp("fuzz"))
    tenants = {name: seed(url, org=name) for name in ("acme", "globex", "initech")}
    app = app_on(url)
    with TestClient(app) as client:
        acme = tenants["acme"]
        assert client.post("/v1/ingest/runs", json=acme_records(), headers=bearer(acme.ingest)).json()["accepted"] == 3
        batch = [{"source": "acme-secret.csv", "job_id": "1", "start": "2026-11-01T00:00:00Z", "energy_kwh": 1.0}]
        batch[0]["co2e_kg"] = 0.123456789
        assert client.post("/v1/ingest/batch", json=batch, headers=bearer(acme.ingest)).json()["accepted"] == 1
        before = acme_view(client, acme)
        yield app, tenants, client
        assert acme_view(client, acme) == before, "another organisation changed acme's data"


def acme_view(client, acme) -> tuple:
    headers = bearer(acme.read)
    return (
        client.get("/v1/projects/ml/totals", headers=headers).json(),
        client.get("/v1/projects/ml/runs/acme-secret-run", headers=headers).json(),
        client.get("/v1/projects/ml/batch", headers=headers).json(),
    )


@pytest.fixture(scope="module")
def api_schema(service):
    app, _, _ = service
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def send(client, case, headers: dict[str, str]):
    """The request schemathesis generated, sent with exactly these credentials (none when empty)."""
    request = case.as_transport_kwargs(base_url="http://testserver")
    sent = {k: v for k, v in request["headers"].items() if k.lower() != "authorization"} | headers
    body = {}
    if "json" in request:
        body["json"] = request["json"]
    elif request.get("data") is not None:
        body["content"] = request["data"]
    return client.request(request["method"], request["url"], params=request.get("params"), headers=sent, **body)


def is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def prepare(case) -> None:
    """Aim half the cases at objects that exist (the project every organisation has, acme's run)."""
    if next(_calls) % 2:
        return
    for name in list(case.path_parameters or {}):
        case.path_parameters[name] = {"project": "ml", "run_id": "acme-secret-run"}.get(
            name, case.path_parameters[name]
        )


@schema.parametrize()
@BOUND
def test_no_server_error_and_no_cross_organisation_read(case, service):
    _, tenants, client = service
    prepare(case)
    globex, initech = tenants["globex"], tenants["initech"]
    for token in (initech.ingest_read, initech.admin, globex.ingest_read, globex.admin, globex.read):
        response = send(client, case, bearer(token))
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
        if token in (globex.ingest_read, globex.admin, globex.read):
            assert not any(marker in response.text for marker in MARKERS), f"acme's data leaked: {response.text:.300}"
            if "acme-secret-run" in (case.path_parameters or {}).values():
                assert response.status_code >= 400, f"acme's run answered {response.status_code} to globex"


@schema.parametrize()
@BOUND
def test_auth_enforced_on_every_non_public_route(case, service):
    _, tenants, client = service
    prepare(case)
    path = case.operation.path
    if is_public(path):
        response = send(client, case, {})
        assert response.status_code < 500
        return
    for headers in ({}, bearer("carbon_not-a-token"), bearer("share_not-a-token"), {"Authorization": "Basic eDp5"}):
        response = send(client, case, headers)
        if response.status_code == 405:  # a method the route does not have (schemathesis tries TRACE and others)
            return
        assert response.status_code == 401, (
            f"{case.method} {path} answered {response.status_code} without a valid token"
        )
    needed = "ingest" if path.startswith("/v1/ingest") else "read"
    lacking = tenants["globex"].read if needed == "ingest" else tenants["globex"].ingest
    assert send(client, case, bearer(lacking)).status_code == 403
