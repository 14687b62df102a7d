"""SQLAlchemy tables of the incidents domain."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Priority(enum.StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (IncidentStatus.OPEN, IncidentStatus.INVESTIGATING)


class PipelineState(enum.StrEnum):
    """Progress of the background response pipeline (diagnose, remediate, escalate)."""

    NONE = "none"  # not wanted for this incident (e.g. P2)
    PENDING = "pending"  # queued; any worker may claim it
    RUNNING = "running"  # claimed under a lease; reclaimable once the lease expires
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Incident(Base):
    __tablename__ = "incidents"
    # Fetch server-generated values (updated_at) with RETURNING: responses are built after commit.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_name: Mapped[str] = mapped_column(String(100), nullable=False)
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "incident_priority"), nullable=False)
    status: Mapped[IncidentStatus] = mapped_column(
        _enum(IncidentStatus, "incident_status"),
        nullable=False,
        server_default=IncidentStatus.OPEN.value,
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    diagnostics: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    remediation_actions: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)

    # Added by 0002_incident_ingest: dedup, source data, lifecycle, pipeline progress.
    fingerprint: Mapped[str | None] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(32), nullable=False, server_default="alertmanager")
    labels: Mapped[dict[str, str]] = mapped_column(
        JsonType, nullable=False, server_default=text("'{}'::jsonb")
    )
    annotations: Mapped[dict[str, str]] = mapped_column(
        JsonType, nullable=False, server_default=text("'{}'::jsonb")
    )
    generator_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    occurrence_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    previous_incident_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("incidents.id", ondelete="SET NULL")
    )
    stale: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pipeline_state: Mapped[PipelineState] = mapped_column(
        _enum(PipelineState, "incident_pipeline_state"),
        nullable=False,
        server_default=PipelineState.NONE.value,
    )
    pipeline_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    pipeline_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pipeline_owner: Mapped[str | None] = mapped_column(String(100))
    # Added by 0006_paging: the Alertmanager group (one page per group) and the page decision.
    group_key: Mapped[str | None] = mapped_column(Text)
    receiver: Mapped[str | None] = mapped_column(String(200))
    page_key: Mapped[str | None] = mapped_column(String(64))
    page_decision: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        # The status and priority filters, newest first (0011_incident_filter_indexes).
        Index("ix_incidents_status_created_at", "status", "created_at"),
        Index("ix_incidents_priority_created_at", "priority", "created_at"),
        Index("ix_incidents_created_at", "created_at"),
        # One active incident per fingerprint: what makes two replicas agree on dedup.
        Index(
            "uq_incidents_active_fingerprint",
            "fingerprint",
            unique=True,
            postgresql_where=text("status IN ('open', 'investigating')"),
        ),
        Index("ix_incidents_fingerprint_created_at", "fingerprint", "created_at"),
        # Filter and newest-first order served by one index each.
        Index("ix_incidents_service_created_at", "service", "created_at"),
        Index("ix_incidents_alert_name_created_at", "alert_name", "created_at"),
        Index(
            "ix_incidents_pipeline_due",
            "pipeline_state",
            "pipeline_lease_until",
            postgresql_where=text("pipeline_state IN ('pending', 'running')"),
        ),
        Index("ix_incidents_page_key_created_at", "page_key", "created_at"),
    )


class IncidentEvent(Base):
    """The incident timeline: append-only, one row per change."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (
        Index("ix_incident_events_incident_id_id", "incident_id", "id"),
        # Retention deletes old 'repeated' rows (one per duplicate alert) by age.
        Index("ix_incident_events_repeated_at", "at", postgresql_where=text("kind = 'repeated'")),
    )


class IgnoredAlert(Base):
    """Resolved alerts that matched no incident: recorded, not an error."""

    __tablename__ = "ignored_alerts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    fingerprint: Mapped[str] = mapped_column(String(200), nullable=False)
    alert_name: Mapped[str] = mapped_column(String(100), nullable=False)
    reason: Mapped[str] = mapped_column(String(100), nullable=False)
    labels: Mapped[dict[str, str]] = mapped_column(JsonType, nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_ignored_alerts_received_at", "received_at"),)  # retention


class Heartbeat(Base):
    """The dead man's switch: when each receiver's always-firing alert (Watchdog) last arrived."""

    __tablename__ = "heartbeats"

    receiver: Mapped[str] = mapped_column(String(200), primary_key=True)
    alert_name: Mapped[str] = mapped_column(String(100), nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    beats: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
