"""incident response: delivery claims and attempts, remediation cooldowns

Revision ID: 0004_incident_response
Revises: 0002_incident_ingest
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_incident_response"
down_revision: str | None = "0002_incident_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_incident_deliveries"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            ondelete="CASCADE",
            name="fk_incident_deliveries_incident_id_incidents",
        ),
        sa.UniqueConstraint(
            "incident_id",
            "channel",
            "event",
            name="uq_incident_deliveries_incident_id_channel_event",
        ),
    )
    op.create_table(
        "incident_delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_incident_delivery_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["incident_deliveries.id"],
            ondelete="CASCADE",
            name="fk_incident_delivery_attempts_delivery_id_incident_deliveries",
        ),
    )
    op.create_index(
        "ix_incident_delivery_attempts_incident_id", "incident_delivery_attempts", ["incident_id"]
    )
    op.create_table(
        "remediation_cooldowns",
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=True),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.PrimaryKeyConstraint("action", "target", name="pk_remediation_cooldowns"),
    )


def downgrade() -> None:
    op.drop_table("remediation_cooldowns")
    op.drop_index(
        "ix_incident_delivery_attempts_incident_id", table_name="incident_delivery_attempts"
    )
    op.drop_table("incident_delivery_attempts")
    op.drop_table("incident_deliveries")
