"""`carbon serve admin`, hashed tokens, revocation and share links, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from fixtures.server_app import app_on, bearer
from sqlalchemy import select

from carbon.cli import main
from carbon.server.db import make_engine
from carbon.server.models import ApiToken


def admin(capsys, url: str, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["serve", "--database-url", url, "admin", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_admin_flow_and_hashes_only(database_url, capsys, tmp_path):
    assert admin(capsys, database_url, "create-org", "acme")[0] == 0
    assert admin(capsys, database_url, "create-project", "acme", "ml")[0] == 0
    status, out, err = admin(capsys, database_url, "create-token", "acme", "--project", "ml", "--name", "laptop")
    assert status == 0 and "shown once" in err
    secret = out.strip()
    assert secret.startswith("carbon_") and len(secret) > 40

    engine = make_engine(database_url)
    with engine.connect() as connection:
        token = connection.execute(select(ApiToken)).one()
    engine.dispose()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.scopes == "ingest,read" and token.project_id is not None
    if database_url.startswith("sqlite"):  # the secret itself is nowhere in the database file
        path = database_url.removeprefix("sqlite:///")
        stored = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
        assert secret.encode() not in stored and secret[12:].encode() not in stored

    status, out, _ = admin(capsys, database_url, "list", "--format", "json")
    listing = json.loads(out)
    assert listing[0]["projects"] == ["ml"]
    assert listing[0]["tokens"][0]["prefix"] == secret[:12] and secret not in out

    with TestClient(app_on(database_url)) as client:
        assert client.get("/v1/projects", headers=bearer(secret)).status_code == 200
        assert admin(capsys, database_url, "revoke-token", str(token.id))[0] == 0
        assert client.get("/v1/projects", headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("create-project", "nobody", "ml"), "no organisation 'nobody'"),
        (("create-org", "Bad Name"), "must be lower-case"),
        (("create-token", "acme", "--project", "ml", "--scopes", "admin"), "organisation tokens"),
        (("create-token", "acme", "--scopes", "read"), "admin scope only"),
        (("create-token", "acme", "--project", "ml", "--scopes", "write"), "unknown scope"),
        (("revoke-token", "999"), "no token with id 999"),
        (("create-org", "acme"), "already exists"),
    ],
)
def test_admin_errors_are_one_line(tmp_path, capsys, argv, words):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    admin(capsys, url, "create-org", "acme")
    admin(capsys, url, "create-project", "acme", "ml")
    status, _, err = admin(capsys, url, *argv)
    assert status == 2
    assert words in err and err.count("\n") == 1


def test_share_links_are_read_only_and_revocable(database_url, capsys):
    admin(capsys, database_url, "create-org", "acme")
    admin(capsys, database_url, "create-project", "acme", "ml")
    status, out, err = admin(capsys, database_url, "create-share", "acme", "ml")
    secret = out.strip()
    assert status == 0 and secret.startswith("share_") and f"/v1/share/{secret}" in err
    with TestClient(app_on(database_url)) as client:
        shared = client.get(f"/v1/share/{secret}")
        assert shared.status_code == 200 and shared.json()["project"] == "ml"
        # A share link is not an API token: it opens nothing else.
        assert client.get("/v1/projects", headers=bearer(secret)).status_code == 401
        assert client.post("/v1/ingest/runs", json=[], headers=bearer(secret)).status_code == 401
        assert client.get("/v1/share/share_guess").status_code == 404
        assert admin(capsys, database_url, "revoke-share", "1")[0] == 0
        assert client.get(f"/v1/share/{secret}").status_code == 404


def test_migrate_only_and_sqlite_workers(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh' / 'c.db'}"
    assert main(["serve", "--database-url", url, "--migrate-only"]) == 0
    from alembic.script import ScriptDirectory

    from carbon.server.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(make_engine(url))).get_current_head()
    assert f"schema revision {head}" in capsys.readouterr().out
    assert main(["serve", "--database-url", url, "--workers", "2"]) == 2
    assert "needs PostgreSQL" in capsys.readouterr().err


def test_web_framework_not_loaded_by_other_commands():
    code = (
        "import sys, carbon, carbon.tracker, carbon.sinks.server; from carbon.cli import build_parser; build_parser(); "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    )
    heavy = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic", "psycopg", "requests")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []


def test_serve_starts_with_no_setup(tmp_path, monkeypatch):
    """`carbon serve` with nothing configured: SQLite in the user's data folder, migrated, answering."""
    import requests
    from fixtures.server_process import free_port

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("CARBON_DATABASE_URL", raising=False)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "carbon", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                response = requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
                break
            except requests.RequestException:
                process.poll()
                assert process.returncode is None, "carbon serve exited"
                time.sleep(0.1)
        assert response.json()["status"] == "ok"
        assert (tmp_path / "data" / "carbon" / "carbon.db").is_file()
    finally:
        process.terminate()
        process.wait(10)
