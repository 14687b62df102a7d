"""retention: indexes that let old rows be deleted by age in small batches

Revision ID: 0009_retention_indexes
Revises: 0008_incident_push
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_retention_indexes"
down_revision: str | None = "0008_incident_push"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_incident_events_repeated_at",
        "incident_events",
        ["at"],
        postgresql_where=sa.text("kind = 'repeated'"),
    )
    op.create_index("ix_ignored_alerts_received_at", "ignored_alerts", ["received_at"])
    op.create_index("ix_incident_delivery_attempts_at", "incident_delivery_attempts", ["at"])
    op.create_index("ix_push_send_receipts_asof", "push_send_receipts", ["asof"])


def downgrade() -> None:
    op.drop_index("ix_push_send_receipts_asof", "push_send_receipts")
    op.drop_index("ix_incident_delivery_attempts_at", "incident_delivery_attempts")
    op.drop_index("ix_ignored_alerts_received_at", "ignored_alerts")
    op.drop_index("ix_incident_events_repeated_at", "incident_events")
