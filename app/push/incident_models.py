"""Tables of incident pushes: the day's claim per key and channel, and every push made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

TS = DateTime(timezone=True)


class IncidentPushClaim(Base):
    """`incident_<KIND>_YYYYMMDD` per channel: claimed before the call (`pending`), then
    `delivered` (the day's key is used) or `failed` (released: the next call retries).

    The primary key is what makes replicas agree: only the caller whose INSERT wins, or who
    takes over a failed claim or one whose owner died (lease expired), may send.
    """

    __tablename__ = "push_incident_claims"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="state"),
        CheckConstraint("channel IN ('telegram', 'slack')", name="channel"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    push_id: Mapped[str | None] = mapped_column(String(36))
    delivered_at: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class IncidentPushRecord(Base):
    """Every incident push made (delivered, simulated or failed); skipped calls leave none."""

    __tablename__ = "push_incidents"
    __table_args__ = (
        CheckConstraint("mode IN ('normal', 'test')", name="mode"),
        CheckConstraint("result IN ('OK', 'FAILED')", name="result"),
        Index("ix_push_incidents_kind_seq", "kind", "seq"),
        Index("ix_push_incidents_day_seq", "day", "seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Insertion order for "newest first": timestamps tie under a fixed clock.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    asof: Mapped[datetime] = mapped_column(TS)
    day: Mapped[str] = mapped_column(String(8))  # YYYYMMDD in TIMEZONE, as in the key
    kind: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    delivery_actual: Mapped[str] = mapped_column(String(20))
    delivery_reason: Mapped[str] = mapped_column(String(30))
    result: Mapped[str] = mapped_column(String(10))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error_class: Mapped[str | None] = mapped_column(String(100))
    error_message_sanitized: Mapped[str | None] = mapped_column(Text)
    slack_status: Mapped[str | None] = mapped_column(String(10))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
