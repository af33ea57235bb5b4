"""API tokens and share links: only hashes are stored; every request resolves to a Principal.

A token is `carbon_` + 43 URL-safe characters (256 random bits). The database keeps its sha256
(hex) and its first 12 characters (to tell tokens apart in listings). With 256-bit secrets a
plain sha256 is enough (no password stretching needed); the row is found by its hash through a
unique index and the hashes are then compared with `hmac.compare_digest`, so no timing tells an
attacker how much of a guess was right.

Scopes: `ingest` and `read` on one project (project tokens), `admin` on a whole organisation
(organisation tokens, which may also ingest and read in any of its projects). A share link is a
read-only principal on one project. Every query the routes make is filtered by the principal's
organisation_id (and project_id where the principal has one).

Requests carry the token as `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from carbon.server.models import ApiToken, Project, ShareLink

Secret = TypeVar("Secret", ApiToken, ShareLink)  # the rows whose secrets are stored as hashes

TOKEN_PREFIX = "carbon_"
SHARE_PREFIX = "share_"
SHOWN_CHARS = 12


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is asking: an organisation, a project (None for organisation tokens) and what they may do."""

    organisation_id: int
    project_id: int | None
    scopes: frozenset[str]
    kind: str = "token"  # "token" or "share"

    def can(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def sees(self, project: Project) -> bool:
        """True when `project` is within this principal's reach (its organisation, and its project if scoped)."""
        if project.organisation_id != self.organisation_id:
            return False
        return self.project_id is None or self.project_id == project.id


def _matching(rows: list[Secret], digest: str) -> Secret | None:
    for row in rows:
        if hmac.compare_digest(row.token_hash, digest):
            return row
    return None


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal for an API token, or None when it is unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = hash_secret(secret)
    rows = list(session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)))
    token = _matching(rows, digest)
    if token is None or token.revoked_at is not None:
        return None
    return Principal(token.organisation_id, token.project_id, token.scope_set)


def authenticate_share(session: Session, secret: str) -> Principal | None:
    """A read-only principal on the shared project, or None when the link is unknown or revoked."""
    if not secret.startswith(SHARE_PREFIX):
        return None
    digest = hash_secret(secret)
    rows = list(session.scalars(select(ShareLink).where(ShareLink.token_hash == digest)))
    link = _matching(rows, digest)
    if link is None or link.revoked_at is not None:
        return None
    return Principal(link.organisation_id, link.project_id, frozenset({"read"}), kind="share")
