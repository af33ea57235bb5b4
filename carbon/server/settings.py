"""The service's settings: where the database is and how much one request may carry."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from carbon.server.db import default_database_url


@dataclass(frozen=True)
class ServerSettings:
    """database_url: SQLAlchemy URL (default: SQLite in the user's data folder, or CARBON_DATABASE_URL).
    max_body_bytes: largest request body accepted (413 above). max_records: most records per ingest
    request. migrate: run the migrations when the app is created (the CLI does; tests may too).
    """

    database_url: str = field(default_factory=lambda: os.environ.get("CARBON_DATABASE_URL") or default_database_url())
    max_body_bytes: int = 16 * 1024 * 1024
    max_records: int = 50_000
    migrate: bool = True
