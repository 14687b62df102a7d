"""incident pushes: the day's claims per key and channel, and every push made

Revision ID: 0008_incident_push
Revises: 0007_push_unconfirmed
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_incident_push"
down_revision: str | None = "0007_push_unconfirmed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "push_incident_claims",
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("push_id", sa.String(36), nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("idempotency_key", "channel", name="pk_push_incident_claims"),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name="ck_push_incident_claims_state"
        ),
        sa.CheckConstraint(
            "channel IN ('telegram', 'slack')", name="ck_push_incident_claims_channel"
        ),
    )
    op.create_table(
        "push_incidents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("asof", TS, nullable=False),
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("delivery_actual", sa.String(20), nullable=False),
        sa.Column("delivery_reason", sa.String(30), nullable=False),
        sa.Column("result", sa.String(10), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("error_message_sanitized", sa.Text(), nullable=True),
        sa.Column("slack_status", sa.String(10), nullable=True),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_push_incidents"),
        sa.UniqueConstraint("seq", name="uq_push_incidents_seq"),
        sa.CheckConstraint("mode IN ('normal', 'test')", name="ck_push_incidents_mode"),
        sa.CheckConstraint("result IN ('OK', 'FAILED')", name="ck_push_incidents_result"),
    )
    op.create_index("ix_push_incidents_kind_seq", "push_incidents", ["kind", "seq"])
    op.create_index("ix_push_incidents_day_seq", "push_incidents", ["day", "seq"])


def downgrade() -> None:
    op.drop_index("ix_push_incidents_day_seq", table_name="push_incidents")
    op.drop_index("ix_push_incidents_kind_seq", table_name="push_incidents")
    op.drop_table("push_incidents")
    op.drop_table("push_incident_claims")
