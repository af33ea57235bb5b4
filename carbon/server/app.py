"""The FastAPI application: `create_app(settings)` wires the database and the routers.

Stateless apart from the database: every request opens its own session, so any number of
workers (PostgreSQL) can serve the same data. Routers:
- carbon.server.estimate_api: /v1/estimate, /v1/regions, /v1/intensity/{zone}, /v1/hardware/... (public)
- carbon.server.ingest_api: /v1/ingest/... (project tokens with the `ingest` scope)
- carbon.server.read_api: /v1/projects/... (the `read` scope), /v1/share/{secret} (share links)
The app's state holds `engine` and `sessions` (a sessionmaker) for routers to use (see deps.py).

Pages (the dashboard, under carbon.server.dashboard) add their router with one include_router
line here. They read aggregates from the daily rollups (models.DailyRollup; read_api.totals is
the per-basis sum), resolve API tokens and share links with auth.authenticate and
auth.authenticate_share, and filter every query by the principal's organisation.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from carbon import __version__
from carbon.server import errors, estimate_api, ingest_api, read_api
from carbon.server.db import make_engine, migrate, session_factory
from carbon.server.limits import RequestLimits
from carbon.server.settings import ServerSettings

DESCRIPTION = """The estimate API (public: it stores nothing) answers with exactly the JSON of
`carbon estimate --format json`. Collection and read routes need an API token
(`Authorization: Bearer carbon_...`), created with `carbon serve admin create-token`.
"""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    engine = make_engine(settings.database_url)
    if settings.migrate:
        migrate(engine)
    app = FastAPI(title="carbon", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    errors.install(app)
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)
    app.include_router(estimate_api.router)
    app.include_router(ingest_api.router)
    app.include_router(read_api.router)

    from carbon.server.dashboard.routes import router as dashboard_router

    app.include_router(dashboard_router)

    @app.get("/v1/health", tags=["service"], summary="liveness: the service and its database answer")
    def health(request: Request) -> JSONResponse:
        from sqlalchemy import text

        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "version": __version__})

    return app


def app_from_environment() -> FastAPI:
    """The app for uvicorn's workers (`carbon serve`): the database from CARBON_DATABASE_URL, already
    migrated by the parent process."""
    return create_app(ServerSettings(migrate=False))
