"""delivery generation: a reopened incident's trigger is a new delivery

Revision ID: 0005_delivery_generation
Revises: 0004_incident_response
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_delivery_generation"
down_revision: str | None = "0004_incident_response"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "uq_incident_deliveries_incident_id_channel_event"
NEW = "uq_incident_deliveries_incident_id_channel_event_generation"


def upgrade() -> None:
    # Existing rows belong to generation 0 (no reopen before this revision counted).
    op.add_column(
        "incident_deliveries",
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.drop_constraint(OLD, "incident_deliveries", type_="unique")
    op.create_unique_constraint(
        NEW, "incident_deliveries", ["incident_id", "channel", "event", "generation"]
    )


def downgrade() -> None:
    # The old key holds one row per (incident, channel, event): later generations' records go.
    op.execute("DELETE FROM incident_deliveries WHERE generation > 0")
    op.drop_constraint(NEW, "incident_deliveries", type_="unique")
    op.create_unique_constraint(OLD, "incident_deliveries", ["incident_id", "channel", "event"])
    op.drop_column("incident_deliveries", "generation")
