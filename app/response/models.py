"""Tables of the response pipeline: outbound deliveries and remediation cooldowns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class DeliveryState(StrEnum):
    SENDING = "sending"  # claimed; the owner is calling the peer (until its lease ends)
    DELIVERED = "delivered"
    FAILED = "failed"  # `retryable` says whether a later attempt may take it over


class Delivery(Base):
    """One (incident, channel, event, generation) notification, claimed before the call.

    The unique constraint is what keeps two replicas (or a retried pipeline) from paging
    twice: only the session whose INSERT wins, or which reclaims an expired/failed claim,
    may call the peer. `generation` counts the incident's reopens, so a reopened incident
    pages again, once.
    """

    __tablename__ = "incident_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(20), nullable=False)  # pagerduty | slack
    event: Mapped[str] = mapped_column(String(20), nullable=False)  # trigger | resolve | notify …
    generation: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    state: Mapped[str] = mapped_column(String(20), nullable=False)  # DeliveryState
    retryable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # why a paging decision was taken
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (UniqueConstraint("incident_id", "channel", "event", "generation"),)


class DeliveryAttempt(Base):
    """Every HTTP attempt of a delivery, sanitized: the audit trail of what we told whom."""

    __tablename__ = "incident_delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incident_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    incident_id: Mapped[str] = mapped_column(String(36), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (
        Index("ix_incident_delivery_attempts_incident_id", "incident_id"),
        Index("ix_incident_delivery_attempts_at", "at"),  # retention deletes by age
    )


class RemediationCooldown(Base):
    """Last time an action touched a target; shared by replicas so one flapping alert
    cannot make every worker restart the same deployment."""

    __tablename__ = "remediation_cooldowns"

    action: Mapped[str] = mapped_column(String(50), primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(36))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


TS = DateTime(timezone=True)


class PageGroup(Base):
    """One Alertmanager group (receiver + groupKey): what PagerDuty and Slack were told.

    `key` is the group's PagerDuty dedup_key. Exactly one worker (any replica) holds a
    group's claim (`owner`, `lease_until`) while it talks to PagerDuty; a dead worker's
    claim expires and the sweeper re-drives the group. `episode` counts the group's
    PagerDuty incidents (a resolved group that fires again opens the next one).
    """

    __tablename__ = "page_groups"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    receiver: Mapped[str] = mapped_column(String(200), nullable=False)
    group_key: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="group")
    episode: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # idle | triggering (budget spent, call pending) | triggered | acknowledged
    pd_state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="idle")
    pd_priority: Mapped[str | None] = mapped_column(String(2))
    pd_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    slack_state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="idle")
    last_call_at: Mapped[datetime | None] = mapped_column(TS)
    held_at: Mapped[datetime | None] = mapped_column(TS)  # held back by the storm budget
    hold_open_until: Mapped[datetime | None] = mapped_column(TS)  # flapping: resolve after
    quiet_since: Mapped[datetime | None] = mapped_column(TS)
    seen: Mapped[str | None] = mapped_column(String(40))  # incidents' state last acted on
    wake_at: Mapped[datetime | None] = mapped_column(TS)
    due_since: Mapped[datetime | None] = mapped_column(TS)  # a PagerDuty call owed since
    next_attempt_at: Mapped[datetime | None] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    overdue_notice_at: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        TS, nullable=False, server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_page_groups_wake_at", "wake_at"),
        Index(
            "ix_page_groups_open",
            "pd_state",
            "slack_state",
            postgresql_where=text("pd_state <> 'idle' OR slack_state <> 'idle'"),
        ),
    )


class PageCall(Base):
    """Every call made for a group (PagerDuty, Slack), sanitized: the group's ledger."""

    __tablename__ = "page_calls"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    page_key: Mapped[str] = mapped_column(String(64), nullable=False)
    episode: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    result: Mapped[str] = mapped_column(String(20), nullable=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(TS, nullable=False)

    __table_args__ = (
        Index("ix_page_calls_page_key_id", "page_key", "id"),
        Index("ix_page_calls_at", "at"),  # retention, oldest first
    )


class PageBudget(Base):
    """The storm budget shared by every replica: one row, a fixed window, a counter."""

    __tablename__ = "page_budget"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_start: Mapped[datetime | None] = mapped_column(TS)
    used: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
