"""dashboard covering indexes on daily_rollups

Revision ID: 0002
Revises: 0001

The dashboard's aggregate pages read two GROUP BYs over daily_rollups (by day and basis; by project,
group, basis, region, hardware, user and account). These indexes hold the grouping keys in that
order and the summed columns, so both are one index scan with no sort and no table lookup.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SUMS = [
    "count",
    "energy_kwh",
    "energy_kwh_low",
    "energy_kwh_high",
    "co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "cpu_kwh",
    "gpu_kwh",
    "ram_kwh",
    "other_kwh",
]
GROUPS = ["organisation_id", "project_id", "kind", "group_id", "basis", "region", "hardware", "user", "account", "day"]


def upgrade() -> None:
    with op.batch_alter_table("daily_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_daily_rollups_dash_days", ["organisation_id", "day", "basis", "kind", *SUMS])
        batch_op.create_index("ix_daily_rollups_dash_groups", [*GROUPS, *SUMS])


def downgrade() -> None:
    with op.batch_alter_table("daily_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_rollups_dash_groups")
        batch_op.drop_index("ix_daily_rollups_dash_days")
