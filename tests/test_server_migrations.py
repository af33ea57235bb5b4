"""Alembic: from an empty database and from the first schema (with data) to the newest, on both backends."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("alembic")
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from carbon.server.db import alembic_config, current_revision, make_engine, migrate
from carbon.server.models import Base, Organisation, Run

FIRST = "0001"
_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"carbon_empty_{next(_names)}"
    cluster.admin(f"CREATE DATABASE {name}")
    return cluster.url(name)


def head() -> str:
    return ScriptDirectory.from_config(alembic_config(make_engine("sqlite://"))).get_current_head()


def differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def test_empty_database_to_newest_matches_the_models(empty_url):
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head()
    assert differences(engine) == []
    migrate(engine)  # a second start is a no-op
    assert current_revision(engine) == head()
    engine.dispose()


def test_first_schema_with_data_upgrades_to_newest(empty_url):
    engine = make_engine(empty_url)
    migrate(engine, FIRST)
    assert current_revision(engine) == FIRST
    with engine.begin() as connection:  # data written by the first schema, in its own columns
        connection.execute(
            text("INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'acme', 'Acme', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text("INSERT INTO projects (id, organisation_id, slug, name, created_at) VALUES (1, 1, 'ml', 'ML', :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO experiments (id, organisation_id, project_id, name, created_at) "
                "VALUES (1, 1, 1, 'default', :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        figures = "energy_kwh, energy_kwh_low, energy_kwh_high, co2e_kg, co2e_kg_low, co2e_kg_high, cpu_kwh, gpu_kwh, ram_kwh, other_kwh"
        connection.execute(
            text(
                f"INSERT INTO runs (id, organisation_id, project_id, experiment_id, run_id, status, duration_s, "
                f"records, created_at, {figures}) VALUES (1, 1, 1, 1, 'r1', 'finished', 10, 1, :t, "
                "1, 1, 1, 0.05, 0.05, 0.05, 1, 0, 0, 0)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    migrate(engine)
    assert current_revision(engine) == head()
    assert differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(select(Organisation.slug)).scalar() == "acme"
        assert connection.execute(select(func.sum(Run.co2e_kg))).scalar() == pytest.approx(0.05)
    engine.dispose()
