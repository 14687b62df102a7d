"""paging: incidents carry their Alertmanager group; page groups, storm budget, heartbeats

Revision ID: 0010_paging
Revises: 0009_retention_indexes
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_paging"
down_revision: str | None = "0009_retention_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("incidents", sa.Column("group_key", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("receiver", sa.String(200), nullable=True))
    op.add_column("incidents", sa.Column("page_key", sa.String(64), nullable=True))
    op.add_column("incidents", sa.Column("page_decision", sa.String(16), nullable=True))
    op.create_index("ix_incidents_page_key_created_at", "incidents", ["page_key", "created_at"])
    # A paging decision (paged, merged, held, damped) has no HTTP call: say why instead.
    op.add_column("incident_deliveries", sa.Column("note", sa.Text(), nullable=True))

    op.create_table(
        "heartbeats",
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("alert_name", sa.String(100), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("beats", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("receiver", name="pk_heartbeats"),
    )
    op.create_table(
        "page_groups",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="group"),
        sa.Column("episode", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pd_state", sa.String(16), nullable=False, server_default="idle"),
        sa.Column("pd_priority", sa.String(2), nullable=True),
        sa.Column("pd_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("slack_state", sa.String(16), nullable=False, server_default="idle"),
        sa.Column("last_call_at", TS, nullable=True),
        sa.Column("held_at", TS, nullable=True),
        sa.Column("hold_open_until", TS, nullable=True),
        sa.Column("quiet_since", TS, nullable=True),
        sa.Column("seen", sa.String(40), nullable=True),
        sa.Column("wake_at", TS, nullable=True),
        sa.Column("due_since", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("overdue_notice_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("key", name="pk_page_groups"),
    )
    op.create_index("ix_page_groups_wake_at", "page_groups", ["wake_at"])
    op.create_index(
        "ix_page_groups_open",
        "page_groups",
        ["pd_state", "slack_state"],
        postgresql_where=sa.text("pd_state <> 'idle' OR slack_state <> 'idle'"),
    )
    op.create_table(
        "page_calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("page_key", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detail", sa.dialects.postgresql.JSONB(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_page_calls"),
    )
    op.create_index("ix_page_calls_page_key_id", "page_calls", ["page_key", "id"])
    op.create_table(
        "page_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_start", TS, nullable=True),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_page_budget"),
    )
    op.execute("INSERT INTO page_budget (id, used) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("page_budget")
    op.drop_index("ix_page_calls_page_key_id", table_name="page_calls")
    op.drop_table("page_calls")
    op.drop_index("ix_page_groups_open", table_name="page_groups")
    op.drop_index("ix_page_groups_wake_at", table_name="page_groups")
    op.drop_table("page_groups")
    op.drop_table("heartbeats")
    op.drop_column("incident_deliveries", "note")
    op.drop_index("ix_incidents_page_key_created_at", table_name="incidents")
    for column in ("page_decision", "page_key", "receiver", "group_key"):
        op.drop_column("incidents", column)
