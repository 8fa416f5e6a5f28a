"""Initial schema: vims, vnfs, vdus, monitors, events.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23
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
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_resource", ["resource_type", "resource_id", "id"], unique=False
        )

    op.create_table(
        "monitors",
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("action_id", sa.String(length=36), nullable=True),
        sa.Column("workflow_name", sa.String(length=255), nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_checkin_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("resource_type", "resource_id"),
        sa.UniqueConstraint("action_id"),
    )
    op.create_table(
        "vims",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("previous_status", sa.String(length=32), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "vnfs",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("previous_status", sa.String(length=32), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("vnfd", sa.Text(), nullable=False),
        sa.Column("heal_attempts", sa.Integer(), nullable=False),
        sa.Column("last_heal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "vdus",
        sa.Column("vnf_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("mgmt_ips", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["vnf_id"], ["vnfs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vnf_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("vdus")
    op.drop_table("vnfs")
    op.drop_table("vims")
    op.drop_table("monitors")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_resource")

    op.drop_table("events")
