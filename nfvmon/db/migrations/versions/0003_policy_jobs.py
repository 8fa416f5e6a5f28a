"""Policy jobs: a running respawn/heal survives the conductor that started it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_jobs",
        sa.Column("vnf_id", sa.String(length=128), nullable=False),
        sa.Column("vdu", sa.String(length=64), nullable=True),
        sa.Column("action_name", sa.String(length=64), nullable=False),
        sa.Column("monitor_action_id", sa.String(length=36), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["vnf_id"], ["vnfs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vnf_id"),
    )
    with op.batch_alter_table("policy_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_policy_jobs_deadline", ["deadline"], unique=False)


def downgrade() -> None:
    op.drop_table("policy_jobs")
