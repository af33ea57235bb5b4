"""first schema

Revision ID: 0001
Revises: (none: the first schema)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_projects_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("organisation_id", "slug", name=op.f("uq_projects_organisation_id")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_tokens_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_api_tokens_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "batch_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("first_start", sa.DateTime(), nullable=True),
        sa.Column("last_end", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("energy_kwh", sa.Double(), nullable=False),
        sa.Column("energy_kwh_low", sa.Double(), nullable=False),
        sa.Column("energy_kwh_high", sa.Double(), nullable=False),
        sa.Column("co2e_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_low", sa.Double(), nullable=False),
        sa.Column("co2e_kg_high", sa.Double(), nullable=False),
        sa.Column("cpu_kwh", sa.Double(), nullable=False),
        sa.Column("gpu_kwh", sa.Double(), nullable=False),
        sa.Column("ram_kwh", sa.Double(), nullable=False),
        sa.Column("other_kwh", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_batch_imports_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_batch_imports_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_imports")),
        sa.UniqueConstraint("project_id", "source", name=op.f("uq_batch_imports_project_id")),
    )
    with op.batch_alter_table("batch_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_imports_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "daily_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("basis", sa.String(length=50), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("hardware", sa.String(length=200), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("energy_kwh", sa.Double(), nullable=False),
        sa.Column("energy_kwh_low", sa.Double(), nullable=False),
        sa.Column("energy_kwh_high", sa.Double(), nullable=False),
        sa.Column("co2e_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_low", sa.Double(), nullable=False),
        sa.Column("co2e_kg_high", sa.Double(), nullable=False),
        sa.Column("cpu_kwh", sa.Double(), nullable=False),
        sa.Column("gpu_kwh", sa.Double(), nullable=False),
        sa.Column("ram_kwh", sa.Double(), nullable=False),
        sa.Column("other_kwh", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_daily_rollups_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_daily_rollups_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollups")),
        sa.UniqueConstraint(
            "organisation_id",
            "project_id",
            "kind",
            "group_id",
            "day",
            "basis",
            "region",
            "hardware",
            "user",
            "account",
            name="uq_daily_rollups_key",
        ),
    )
    with op.batch_alter_table("daily_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_daily_rollups_group", ["kind", "group_id", "day"], unique=False)
        batch_op.create_index("ix_daily_rollups_org_day", ["organisation_id", "day"], unique=False)
        batch_op.create_index("ix_daily_rollups_project_day", ["project_id", "day"], unique=False)

    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_experiments_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_experiments_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_experiments_project_id")),
    )
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experiments_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_share_links_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_share_links_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_links_token_hash")),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_links_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=200), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=True),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("partition", sa.String(length=200), nullable=True),
        sa.Column("job_project", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("zone", sa.String(length=100), nullable=True),
        sa.Column("hardware", sa.String(length=200), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=True),
        sa.Column("cpus", sa.Double(), nullable=True),
        sa.Column("gpus", sa.Double(), nullable=True),
        sa.Column("memory_gb", sa.Double(), nullable=True),
        sa.Column("pue", sa.Double(), nullable=True),
        sa.Column("intensity_g_per_kwh", sa.Double(), nullable=True),
        sa.Column("intensity_basis", sa.String(length=50), nullable=True),
        sa.Column("intensity_granularity", sa.String(length=20), nullable=True),
        sa.Column("energy_method", sa.String(length=100), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("energy_kwh", sa.Double(), nullable=False),
        sa.Column("energy_kwh_low", sa.Double(), nullable=False),
        sa.Column("energy_kwh_high", sa.Double(), nullable=False),
        sa.Column("co2e_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_low", sa.Double(), nullable=False),
        sa.Column("co2e_kg_high", sa.Double(), nullable=False),
        sa.Column("cpu_kwh", sa.Double(), nullable=False),
        sa.Column("gpu_kwh", sa.Double(), nullable=False),
        sa.Column("ram_kwh", sa.Double(), nullable=False),
        sa.Column("other_kwh", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["batch_imports.id"], name=op.f("fk_batch_jobs_import_id_batch_imports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_batch_jobs_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_batch_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_jobs")),
        sa.UniqueConstraint("import_id", "job_id", name=op.f("uq_batch_jobs_import_id")),
    )
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_batch_jobs_org_project_start", ["organisation_id", "project_id", "start"], unique=False
        )

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("zone", sa.String(length=100), nullable=True),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("hardware_name", sa.String(length=200), nullable=True),
        sa.Column("hardware", sa.JSON(), nullable=True),
        sa.Column("intensity_basis", sa.String(length=50), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("energy_kwh", sa.Double(), nullable=False),
        sa.Column("energy_kwh_low", sa.Double(), nullable=False),
        sa.Column("energy_kwh_high", sa.Double(), nullable=False),
        sa.Column("co2e_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_low", sa.Double(), nullable=False),
        sa.Column("co2e_kg_high", sa.Double(), nullable=False),
        sa.Column("cpu_kwh", sa.Double(), nullable=False),
        sa.Column("gpu_kwh", sa.Double(), nullable=False),
        sa.Column("ram_kwh", sa.Double(), nullable=False),
        sa.Column("other_kwh", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_runs_experiment_id_experiments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_runs_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_runs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("project_id", "run_id", name=op.f("uq_runs_project_id")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_experiment_start", ["experiment_id", "start"], unique=False)
        batch_op.create_index("ix_runs_org_project_start", ["organisation_id", "project_id", "start"], unique=False)

    op.create_table(
        "interval_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("duration_s", sa.Double(), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=True),
        sa.Column("pue", sa.Double(), nullable=True),
        sa.Column("intensity_g_per_kwh", sa.Double(), nullable=True),
        sa.Column("intensity_g_per_kwh_low", sa.Double(), nullable=True),
        sa.Column("intensity_g_per_kwh_high", sa.Double(), nullable=True),
        sa.Column("intensity_basis", sa.String(length=50), nullable=True),
        sa.Column("intensity_granularity", sa.String(length=20), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("energy_kwh", sa.Double(), nullable=False),
        sa.Column("energy_kwh_low", sa.Double(), nullable=False),
        sa.Column("energy_kwh_high", sa.Double(), nullable=False),
        sa.Column("co2e_kg", sa.Double(), nullable=False),
        sa.Column("co2e_kg_low", sa.Double(), nullable=False),
        sa.Column("co2e_kg_high", sa.Double(), nullable=False),
        sa.Column("cpu_kwh", sa.Double(), nullable=False),
        sa.Column("gpu_kwh", sa.Double(), nullable=False),
        sa.Column("ram_kwh", sa.Double(), nullable=False),
        sa.Column("other_kwh", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_interval_records_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.id"], name=op.f("fk_interval_records_run_pk_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interval_records")),
        sa.UniqueConstraint("run_pk", "seq", name=op.f("uq_interval_records_run_pk")),
    )
    with op.batch_alter_table("interval_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interval_records_organisation_id"), ["organisation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interval_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interval_records_organisation_id"))

    op.drop_table("interval_records")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_org_project_start")
        batch_op.drop_index("ix_runs_experiment_start")

    op.drop_table("runs")
    with op.batch_alter_table("batch_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_jobs_org_project_start")

    op.drop_table("batch_jobs")
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_organisation_id"))

    op.drop_table("share_links")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiments_organisation_id"))

    op.drop_table("experiments")
    with op.batch_alter_table("daily_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_rollups_project_day")
        batch_op.drop_index("ix_daily_rollups_org_day")
        batch_op.drop_index("ix_daily_rollups_group")

    op.drop_table("daily_rollups")
    with op.batch_alter_table("batch_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_imports_organisation_id"))

    op.drop_table("batch_imports")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_organisation_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_organisation_id"))

    op.drop_table("projects")
    op.drop_table("organisations")
