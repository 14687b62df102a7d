"""push pipeline: messages, outbox runs and items, gate, audit, send windows, self-tests, receipts

Revision ID: 0003_push_pipeline
Revises: 0002_incident_ingest
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_push_pipeline"
down_revision: str | None = "0002_incident_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
EMPTY_LIST = sa.text("'[]'::jsonb")


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "push_messages",
        sa.Column("id", sa.String(36), nullable=False),
        _seq(),
        sa.Column("push_type", sa.String(20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=True),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("secret_suspected", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(10), nullable=False, server_default="PENDING"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("claim_owner", sa.String(100), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_send_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_messages"),
        sa.UniqueConstraint("seq", name="uq_push_messages_seq"),
        sa.UniqueConstraint("dedup_key", name="uq_push_messages_dedup_key"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SENDING', 'SENT')", name="ck_push_messages_status"
        ),
    )
    op.create_index("ix_push_messages_status_seq", "push_messages", ["status", "seq"])

    op.create_table(
        "push_outbox_runs",
        sa.Column("outbox_id", sa.String(36), nullable=False),
        _seq(),
        sa.Column("delivery_run_id", sa.String(36), nullable=False),
        sa.Column("asof", TS, nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("outbox_id", name="pk_push_outbox_runs"),
        sa.UniqueConstraint("seq", name="uq_push_outbox_runs_seq"),
    )
    op.create_table(
        "push_outbox_items",
        sa.Column("outbox_id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_plain", sa.Text(), nullable=False),
        sa.Column("blocked_reason", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("outbox_id", "message_id", name="pk_push_outbox_items"),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["push_outbox_runs.outbox_id"],
            name="fk_push_outbox_items_outbox_id_push_outbox_runs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["push_messages.id"],
            name="fk_push_outbox_items_message_id_push_messages",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "push_gate",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False, server_default="MOCK_ONLY"),
        sa.Column("sender_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("emergency_stop", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "allowlist_chat_hashes", postgresql.JSONB(), nullable=False, server_default=EMPTY_LIST
        ),
        sa.Column(
            "allowlist_push_types", postgresql.JSONB(), nullable=False, server_default=EMPTY_LIST
        ),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_gate"),
        sa.CheckConstraint("id = 1", name="ck_push_gate_single_row"),
        sa.CheckConstraint(
            "mode IN ('MOCK_ONLY', 'DRY_RUN', 'REAL_ENABLED')", name="ck_push_gate_mode"
        ),
    )
    op.create_table(
        "push_gate_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_gate_audit"),
    )
    op.create_table(
        "push_send_windows",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("open_slot", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_send_windows"),
        sa.UniqueConstraint("open_slot", name="uq_push_send_windows_open_slot"),
        sa.CheckConstraint(
            "used >= 0 AND used <= budget", name="ck_push_send_windows_within_budget"
        ),
        sa.CheckConstraint("open_slot = 1", name="ck_push_send_windows_open_slot_one"),
    )
    op.create_table(
        "push_self_tests",
        sa.Column("id", sa.String(36), nullable=False),
        _seq(),
        sa.Column("asof", TS, nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_push_self_tests"),
        sa.UniqueConstraint("seq", name="uq_push_self_tests_seq"),
    )
    op.create_table(
        "push_send_receipts",
        sa.Column("send_id", sa.String(36), nullable=False),
        _seq(),
        sa.Column("asof", TS, nullable=False),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("blocked_reason", sa.String(40), nullable=True),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("send_id", name="pk_push_send_receipts"),
        sa.UniqueConstraint("seq", name="uq_push_send_receipts_seq"),
    )
    op.create_index("ix_push_send_receipts_decision_seq", "push_send_receipts", ["decision", "seq"])
    op.create_index("ix_push_send_receipts_message_id", "push_send_receipts", ["message_id"])
    op.create_index(
        "uq_push_send_receipts_sent_message_id",
        "push_send_receipts",
        ["message_id"],
        unique=True,
        postgresql_where=sa.text("decision = 'SENT'"),
    )


def downgrade() -> None:
    op.drop_index("uq_push_send_receipts_sent_message_id", table_name="push_send_receipts")
    op.drop_index("ix_push_send_receipts_message_id", table_name="push_send_receipts")
    op.drop_index("ix_push_send_receipts_decision_seq", table_name="push_send_receipts")
    op.drop_table("push_send_receipts")
    op.drop_table("push_self_tests")
    op.drop_table("push_send_windows")
    op.drop_table("push_gate_audit")
    op.drop_table("push_gate")
    op.drop_table("push_outbox_items")
    op.drop_table("push_outbox_runs")
    op.drop_index("ix_push_messages_status_seq", table_name="push_messages")
    op.drop_table("push_messages")
