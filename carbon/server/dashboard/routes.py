"""The dashboard's routes under /dashboard/: pages, their table exports, LaTeX/BibTeX downloads,
the sign-in form, share links and the package's own static files.

Auth: a read token (`read` scope on a project, or an organisation's `admin` token) given once in
the sign-in form is kept in an HttpOnly, SameSite=Lax cookie; a share link sets a cookie holding
the link's secret, which reads one project only. `Authorization: Bearer` works too (for scripts
fetching the CSV exports). Everything a page reads is filtered by the principal's organisation
(and project, for project tokens and share links); anything else answers 404.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from carbon.report import bibtex
from carbon.server.auth import Principal, authenticate, authenticate_share
from carbon.server.dashboard import pages
from carbon.server.dashboard.queries import RollupCache
from carbon.server.dashboard.render import render
from carbon.server.dashboard.tables import to_csv, to_json
from carbon.server.deps import DbSession
from carbon.server.models import Project

PREFIX = "/dashboard"
COOKIE = "carbon_dashboard"
STATIC = Path(__file__).with_name("static")
STATIC_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}
MAX_FORM_BYTES = 4096

router = APIRouter(include_in_schema=False)


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any (scripts fetching exports)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def root_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}{PREFIX}/"


def principal(request: Request, session: DbSession) -> Principal:
    """Who is reading: a Bearer token, else the cookie (an API token or a share link's secret).
    Without a valid read credential a browser is sent to the sign-in form and a script gets 401."""
    secret = bearer(request) or request.cookies.get(COOKIE)
    who = None
    if secret:
        who = authenticate(session, secret) or authenticate_share(session, secret)
    if who is not None and who.can("read"):
        return who
    if bearer(request):
        raise HTTPException(
            status_code=401, detail="invalid token or no read scope", headers={"WWW-Authenticate": "Bearer"}
        )
    raise HTTPException(status_code=303, detail="sign in first", headers={"Location": f"{root_url(request)}login"})


Reader = Annotated[Principal, Depends(principal)]
Builder = Callable[[pages.Context, dict[str, Any]], pages.Page]


def _list_number(request: Request) -> int:
    """`?page=N` of a run or job listing (1 when absent)."""
    text = request.query_params.get("page", "1")
    if not text.isdigit() or int(text) < 1:
        raise HTTPException(status_code=422, detail="?page= takes a whole number from 1")
    return int(text)


def _build(request: Request, session: Session, who: Principal, builder: Builder) -> pages.Page:
    params = {**request.path_params, "page": _list_number(request)}
    try:
        cache = getattr(request.app.state, "dashboard_rollups", None)
        if cache is None:
            cache = request.app.state.dashboard_rollups = RollupCache()
        return builder(pages.Context(session, who, root_url(request), cache), params)
    except pages.NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except pages.MovedTo as moved:
        raise HTTPException(status_code=303, detail="see the project page", headers={"Location": moved.url}) from None


def _download(body: str, media: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _page_routes(path: str, name: str, builder: Builder) -> None:
    """The HTML page at `path`, its tables at `path/tables/NAME.csv|json`, and its LaTeX and BibTeX."""

    def page(request: Request, session: DbSession, who: Reader) -> HTMLResponse:
        try:
            built = _build(request, session, who, builder)
        except HTTPException as error:
            if error.status_code != 404:
                raise
            viewer = _viewer(session, who)
            return render(
                request, "error.html", 404, title="Not found", message=error.detail, viewer=viewer, signed_in=True
            )
        return render(
            request,
            "page.html",
            title=built.title,
            page=built,
            crumbs=built.crumbs,
            viewer=_viewer(session, who),
            signed_in=True,
        )

    def table(request: Request, session: DbSession, who: Reader, table: str, fmt: str) -> Response:
        if fmt not in ("csv", "json"):
            raise HTTPException(status_code=404, detail="exports are .csv or .json")
        try:
            chosen = _build(request, session, who, builder).table(table)
        except pages.NotFound as error:
            raise HTTPException(status_code=404, detail=str(error)) from None
        if fmt == "csv":
            return _download(to_csv(chosen), "text/csv", f"{name}-{chosen.name}.csv")
        return _download(to_json(chosen), "application/json", f"{name}-{chosen.name}.json")

    def tex(request: Request, session: DbSession, who: Reader) -> Response:
        built = _build(request, session, who, builder)
        if built.latex_document is None:
            raise HTTPException(status_code=404, detail="this page has no LaTeX snippet")
        return _download(built.latex_document, "application/x-tex", f"{name}.tex")

    def bib(request: Request, session: DbSession, who: Reader) -> Response:
        _build(request, session, who, builder)  # the same reach as the page: 404 outside it
        return _download(bibtex(), "application/x-bibtex", "carbon.bib")

    path = PREFIX + path
    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse, name=f"dashboard_{name}")
    router.add_api_route(path + "tables/{table}.{fmt}", table, methods=["GET"], name=f"dashboard_{name}_table")
    router.add_api_route(path + "carbon.tex", tex, methods=["GET"], name=f"dashboard_{name}_tex")
    router.add_api_route(path + "carbon.bib", bib, methods=["GET"], name=f"dashboard_{name}_bib")


def _viewer(session: Session, who: Principal) -> str:
    organisation = pages.organisation_of(session, who)
    if who.kind == "share":
        return f"{organisation.name} · read-only share"
    return organisation.name if who.project_id is None else f"{organisation.name} · project token"


_page_routes("/", "organisation", lambda ctx, p: pages.organisation_page(ctx))
_page_routes("/p/{slug}/", "project", lambda ctx, p: pages.project_page(ctx, p["slug"]))
_page_routes(
    "/p/{slug}/experiments/{experiment_id:int}/",
    "experiment",
    lambda ctx, p: pages.experiment_page(ctx, p["slug"], p["experiment_id"], p["page"]),
)
_page_routes("/p/{slug}/runs/{run_pk:int}/", "run", lambda ctx, p: pages.run_page(ctx, p["slug"], p["run_pk"]))
_page_routes(
    "/p/{slug}/batches/{import_id:int}/",
    "batch",
    lambda ctx, p: pages.batch_page(ctx, p["slug"], p["import_id"], p["page"]),
)


# --- sign-in, sign-out, share links, static files -------------------------------------------------


@router.get(PREFIX + "/login", response_class=HTMLResponse, name="dashboard_login")
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", title="Sign in")


@router.post(PREFIX + "/login", name="dashboard_login_post")
async def login(request: Request) -> Response:
    """The form posts `token=...` (urlencoded); a valid read token sets the cookie."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return render(request, "login.html", status_code=413, title="Sign in", error="That is not a token.")
    token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()
    with request.app.state.sessions() as session:
        who = authenticate(session, token) if token else None
    if who is None or not who.can("read"):
        return render(
            request,
            "login.html",
            status_code=401,
            title="Sign in",
            error="That token is unknown, revoked, or lacks the read scope.",
        )
    response = RedirectResponse(root_url(request), status_code=303)
    _set_cookie(request, response, token)
    return response


@router.post(PREFIX + "/logout", name="dashboard_logout")
def logout(request: Request) -> Response:
    response = RedirectResponse(f"{root_url(request)}login", status_code=303)
    response.delete_cookie(COOKIE, path=root_url(request))
    return response


@router.get(PREFIX + "/share/{secret}", name="dashboard_share")
def share(request: Request, secret: str, session: DbSession) -> Response:
    """A share link: read-only access to one project, kept in the cookie like a token."""
    who = authenticate_share(session, secret)
    project = None if who is None or who.project_id is None else session.get(Project, who.project_id)
    if project is None:  # unknown or revoked, or its project deleted meanwhile
        return render(
            request,
            "error.html",
            status_code=404,
            title="Link not valid",
            message="This share link is unknown or revoked.",
        )
    response = RedirectResponse(f"{root_url(request)}p/{project.slug}/", status_code=303)
    _set_cookie(request, response, secret)
    return response


def _set_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=root_url(request),
        max_age=30 * 24 * 3600,
    )


@router.get("/share/{secret}", name="share_link")
def share_short(request: Request, secret: str) -> Response:
    """`carbon serve admin create-share` prints /share/SECRET: in a browser, that is the dashboard's."""
    return RedirectResponse(f"{root_url(request)}share/{secret}", status_code=307)


@router.get(PREFIX + "/static/{name}", name="dashboard_static")
def static(name: str) -> Response:
    """The package's own CSS and icons (no CDN: the dashboard works on an air-gapped cluster)."""
    path = STATIC_FILES.get(name)
    if path is None:
        raise HTTPException(status_code=404, detail="no such file")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=3600"})
