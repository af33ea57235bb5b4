"""FastAPI dependencies shared by every router: the database session and who is asking.

Routers (the API here, the dashboard in carbon/server/dashboard/) use:
    session: DbSession                                   one session per request, committed by the route
    who: Annotated[Principal, Depends(require("read"))]  401 without a valid token, 403 without the scope
    project = project_in_reach(session, who, slug)       404 unless the project is within the principal's reach
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from carbon.server.auth import Principal, authenticate
from carbon.server.models import Project


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


# Declares the bearer scheme in the OpenAPI schema; the token is checked by current_principal.
_bearer = HTTPBearer(auto_error=False, description="an API token: carbon serve admin create-token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def current_principal(credentials: Credentials, session: DbSession) -> Principal:
    secret = credentials.credentials.strip() if credentials is not None else ""
    who = authenticate(session, secret) if secret else None
    if who is None:
        raise HTTPException(
            status_code=401,
            detail="a valid API token is required (Authorization: Bearer carbon_...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return who


def require(scope: str) -> Callable[..., Principal]:
    """A dependency that admits principals holding `scope` (admin holds every scope)."""

    def dependency(who: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not who.can(scope):
            raise HTTPException(status_code=403, detail=f"this token lacks the {scope!r} scope")
        return who

    return dependency


def project_in_reach(session: Session, who: Principal, slug: str | None) -> Project:
    """The project named `slug` (or the token's own project when None), only within the principal's reach.

    A project of another organisation answers 404 exactly as a missing one does, so that tokens
    cannot probe other organisations' project names.
    """
    query = select(Project).where(Project.organisation_id == who.organisation_id)
    if slug is None:
        if who.project_id is None:
            raise HTTPException(status_code=400, detail="an organisation token must name the project (?project=SLUG)")
        query = query.where(Project.id == who.project_id)
    else:
        query = query.where(Project.slug == slug)
        if who.project_id is not None:
            query = query.where(Project.id == who.project_id)
    project = session.scalars(query).first()
    if project is None:
        raise HTTPException(status_code=404, detail=f"no project {slug!r} for this token" if slug else "no project")
    return project
