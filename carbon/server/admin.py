"""Administration of organisations, projects, tokens and share links (`carbon serve admin ...`).

Plain functions on a session; the CLI prints what they return. A token or share link's secret
is returned once, at creation, and never stored: only its sha256 is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carbon.errors import UserInputError
from carbon.server.auth import SHARE_PREFIX, SHOWN_CHARS, hash_secret, new_secret
from carbon.server.models import SCOPES, ApiToken, Organisation, Project, ShareLink, utcnow

SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class AdminError(UserInputError):
    """An administration request that cannot be done as asked; the message says why."""


def check_slug(kind: str, slug: str) -> str:
    if not SLUG.match(slug):
        raise AdminError(
            f"{kind} name {slug!r} must be lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return slug


def organisation(session: Session, slug: str) -> Organisation:
    found = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if found is None:
        raise AdminError(f"no organisation {slug!r} (carbon serve admin list shows them)")
    return found


def project(session: Session, org: Organisation, slug: str) -> Project:
    found = session.scalars(select(Project).where(Project.organisation_id == org.id, Project.slug == slug)).first()
    if found is None:
        raise AdminError(f"no project {slug!r} in organisation {org.slug!r}")
    return found


def create_org(session: Session, slug: str, name: str | None = None) -> Organisation:
    check_slug("organisation", slug)
    if session.scalars(select(Organisation).where(Organisation.slug == slug)).first() is not None:
        raise AdminError(f"organisation {slug!r} already exists")
    org = Organisation(slug=slug, name=name or slug)
    session.add(org)
    session.flush()
    return org


def create_project(session: Session, org_slug: str, slug: str, name: str | None = None) -> Project:
    org = organisation(session, org_slug)
    check_slug("project", slug)
    if session.scalars(select(Project).where(Project.organisation_id == org.id, Project.slug == slug)).first():
        raise AdminError(f"project {slug!r} already exists in {org_slug!r}")
    created = Project(organisation_id=org.id, slug=slug, name=name or slug)
    session.add(created)
    session.flush()
    return created


@dataclass(frozen=True)
class NewSecret:
    id: int
    secret: str  # shown once


def parse_scopes(text: str, project_scoped: bool) -> str:
    scopes = sorted({s.strip() for s in text.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise AdminError(f"unknown scope(s) {', '.join(unknown) or '(none)'}; known: {', '.join(SCOPES)}")
    if project_scoped and "admin" in scopes:
        raise AdminError("the admin scope belongs to organisation tokens: leave out --project")
    if not project_scoped and scopes != ["admin"]:
        raise AdminError(
            "an organisation token (no --project) has the admin scope only; name a project for ingest/read"
        )
    return ",".join(scopes)


def create_token(
    session: Session, org_slug: str, project_slug: str | None, scopes: str | None, name: str = ""
) -> NewSecret:
    org = organisation(session, org_slug)
    target = project(session, org, project_slug) if project_slug else None
    scope_text = parse_scopes(scopes or ("ingest,read" if target else "admin"), target is not None)
    secret = new_secret()
    token = ApiToken(
        organisation_id=org.id,
        project_id=target.id if target else None,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:SHOWN_CHARS],
        scopes=scope_text,
    )
    session.add(token)
    session.flush()
    return NewSecret(token.id, secret)


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AdminError(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def create_share(session: Session, org_slug: str, project_slug: str) -> NewSecret:
    org = organisation(session, org_slug)
    target = project(session, org, project_slug)
    secret = new_secret(SHARE_PREFIX)
    link = ShareLink(
        organisation_id=org.id, project_id=target.id, token_hash=hash_secret(secret), prefix=secret[:SHOWN_CHARS]
    )
    session.add(link)
    session.flush()
    return NewSecret(link.id, secret)


def revoke_share(session: Session, link_id: int) -> ShareLink:
    link = session.get(ShareLink, link_id)
    if link is None:
        raise AdminError(f"no share link with id {link_id}")
    if link.revoked_at is None:
        link.revoked_at = utcnow()
    return link


def listing(session: Session, org_slug: str | None = None) -> list[dict[str, Any]]:
    """Organisations with their projects, tokens and share links (prefixes only, never secrets)."""
    query = select(Organisation).order_by(Organisation.slug)
    if org_slug:
        query = query.where(Organisation.slug == org_slug)
    result = []
    for org in session.scalars(query):
        projects = {p.id: p.slug for p in org.projects}
        tokens = session.scalars(select(ApiToken).where(ApiToken.organisation_id == org.id).order_by(ApiToken.id))
        links = session.scalars(select(ShareLink).where(ShareLink.organisation_id == org.id).order_by(ShareLink.id))
        result.append(
            {
                "organisation": org.slug,
                "name": org.name,
                "projects": sorted(projects.values()),
                "tokens": [
                    {
                        "id": t.id,
                        "prefix": t.prefix,
                        "project": projects.get(t.project_id) if t.project_id else None,
                        "scopes": t.scopes,
                        "name": t.name,
                        "revoked": t.revoked_at is not None,
                    }
                    for t in tokens
                ],
                "share_links": [
                    {
                        "id": s.id,
                        "prefix": s.prefix,
                        "project": projects.get(s.project_id),
                        "revoked": s.revoked_at is not None,
                    }
                    for s in links
                ],
            }
        )
    return result
