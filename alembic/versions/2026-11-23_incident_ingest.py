"""incident ingest: fingerprint dedup, source data, lifecycle, pipeline progress, timeline

Revision ID: 0002_incident_ingest
Revises: 0001_create_incidents
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_incident_ingest"
down_revision: str | None = "0001_create_incidents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

pipeline_state = postgresql.ENUM(
    "none",
    "pending",
    "running",
    "done",
    "failed",
    name="incident_pipeline_state",
    create_type=False,
)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    pipeline_state.create(op.get_bind(), checkfirst=False)
    empty = sa.text("'{}'::jsonb")
    for column in (
        sa.Column("fingerprint", sa.String(200), nullable=True),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("severity", sa.String(50), nullable=True),
        sa.Column("source", sa.String(32), nullable=False, server_default="alertmanager"),
        sa.Column("labels", postgresql.JSONB(), nullable=False, server_default=empty),
        sa.Column("annotations", postgresql.JSONB(), nullable=False, server_default=empty),
        sa.Column("generator_url", sa.Text(), nullable=True),
        sa.Column("starts_at", TS, nullable=True),
        sa.Column("last_seen_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("occurrence_count", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("previous_incident_id", sa.String(36), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(100), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("pipeline_state", pipeline_state, nullable=False, server_default="none"),
        sa.Column("pipeline_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pipeline_lease_until", TS, nullable=True),
        sa.Column("pipeline_owner", sa.String(100), nullable=True),
    ):
        op.add_column("incidents", column)
    op.create_foreign_key(
        "fk_incidents_previous_incident_id_incidents",
        "incidents",
        "incidents",
        ["previous_incident_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "uq_incidents_active_fingerprint",
        "incidents",
        ["fingerprint"],
        unique=True,
        postgresql_where=sa.text("status IN ('open', 'investigating')"),
    )
    op.create_index(
        "ix_incidents_fingerprint_created_at", "incidents", ["fingerprint", "created_at"]
    )
    op.create_index("ix_incidents_service_created_at", "incidents", ["service", "created_at"])
    op.create_index("ix_incidents_alert_name_created_at", "incidents", ["alert_name", "created_at"])
    op.create_index(
        "ix_incidents_pipeline_due",
        "incidents",
        ["pipeline_state", "pipeline_lease_until"],
        postgresql_where=sa.text("pipeline_state IN ('pending', 'running')"),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            ondelete="CASCADE",
            name="fk_incident_events_incident_id_incidents",
        ),
    )
    op.create_index("ix_incident_events_incident_id_id", "incident_events", ["incident_id", "id"])
    op.create_table(
        "ignored_alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("alert_name", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("labels", postgresql.JSONB(), nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ignored_alerts"),
    )


def downgrade() -> None:
    op.drop_table("ignored_alerts")
    op.drop_index("ix_incident_events_incident_id_id", table_name="incident_events")
    op.drop_table("incident_events")
    for index in (
        "ix_incidents_pipeline_due",
        "ix_incidents_alert_name_created_at",
        "ix_incidents_service_created_at",
        "ix_incidents_fingerprint_created_at",
        "uq_incidents_active_fingerprint",
    ):
        op.drop_index(index, table_name="incidents")
    op.drop_constraint(
        "fk_incidents_previous_incident_id_incidents", "incidents", type_="foreignkey"
    )
    for column in (
        "pipeline_owner",
        "pipeline_lease_until",
        "pipeline_attempts",
        "pipeline_state",
        "closed_at",
        "acknowledged_by",
        "acknowledged_at",
        "stale",
        "previous_incident_id",
        "occurrence_count",
        "last_seen_at",
        "starts_at",
        "generator_url",
        "annotations",
        "labels",
        "source",
        "severity",
        "service",
        "fingerprint",
    ):
        op.drop_column("incidents", column)
    pipeline_state.drop(op.get_bind(), checkfirst=False)
