"""SQLAlchemy tables of the push domain: messages, outbox runs, gate, windows, self-tests, receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

TS = DateTime(timezone=True)


class PushMessage(Base):
    """A queued message; `status` moves PENDING -> SENDING (claimed) -> SENT, or back to PENDING.

    A claim whose sender died is settled UNCONFIRMED (Telegram may or may not have the message;
    it is never sent again on its own: at-most-once, see app/push/claims.py).
    """

    __tablename__ = "push_messages"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'SENDING', 'SENT', 'UNCONFIRMED')", name="status"),
        Index("ix_push_messages_status_seq", "status", "seq"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Insertion order: timestamps tie under a fixed clock and within one transaction.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    push_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    source_ref: Mapped[str | None] = mapped_column(String(200))
    # The same incident (or caller key) never queues twice.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Set when the submitted text carried a secret-looking value (stored redacted).
    secret_suspected: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(20), server_default="PENDING")  # MessageStatus
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    claimed_until: Mapped[datetime | None] = mapped_column(TS)
    claim_owner: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(TS)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_send_id: Mapped[str | None] = mapped_column(String(36))


class PushOutboxRun(Base):
    """One outbox run; the send acts on the newest one (highest seq)."""

    __tablename__ = "push_outbox_runs"

    outbox_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    delivery_run_id: Mapped[str] = mapped_column(String(36))
    asof: Mapped[datetime] = mapped_column(TS)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)


class PushOutboxItem(Base):
    """A message as formatted for one outbox run: the exact bodies preview shows and send posts."""

    __tablename__ = "push_outbox_items"

    outbox_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("push_outbox_runs.outbox_id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("push_messages.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
    body_html: Mapped[str] = mapped_column(Text)
    body_plain: Mapped[str] = mapped_column(Text)
    blocked_reason: Mapped[str | None] = mapped_column(String(40))


class PushGate(Base):
    """The single gate row shared by every replica (id is always 1)."""

    __tablename__ = "push_gate"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("mode IN ('MOCK_ONLY', 'DRY_RUN', 'REAL_ENABLED')", name="mode"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    mode: Mapped[str] = mapped_column(String(20), server_default="MOCK_ONLY")
    sender_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    emergency_stop: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # sha256 of each allowed chat id: chat ids are credentials here, never stored in clear.
    allowlist_chat_hashes: Mapped[list[str]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    allowlist_push_types: Mapped[list[str]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    version: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(100))


class PushGateAudit(Base):
    """Append-only trail of gate and window changes: who, when, what changed, why."""

    __tablename__ = "push_gate_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)


class PushSendWindow(Base):
    """A one-shot send window: `used` may reach `budget` before `expires_at`, never beyond."""

    __tablename__ = "push_send_windows"
    __table_args__ = (
        CheckConstraint("used >= 0 AND used <= budget", name="within_budget"),
        CheckConstraint("open_slot = 1", name="open_slot_one"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    budget: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, server_default="0")
    opened_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    # 1 while open, NULL once closed: the unique constraint allows one open window at a time.
    open_slot: Mapped[int | None] = mapped_column(SmallInteger, unique=True)


class PushSelfTest(Base):
    __tablename__ = "push_self_tests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    asof: Mapped[datetime] = mapped_column(TS)
    decision: Mapped[str] = mapped_column(String(20))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)


class PushSendReceipt(Base):
    """Every receipt, queryable; the JSONL under state/ is the append-only file copy."""

    __tablename__ = "push_send_receipts"
    __table_args__ = (
        Index("ix_push_send_receipts_decision_seq", "decision", "seq"),
        Index("ix_push_send_receipts_message_id", "message_id"),
        Index("ix_push_send_receipts_asof", "asof"),  # retention deletes by age
        # At most one SENT receipt per message, whatever the senders do: the last line of defence.
        Index(
            "uq_push_send_receipts_sent_message_id",
            "message_id",
            unique=True,
            postgresql_where=text("decision = 'SENT'"),
        ),
    )

    send_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    asof: Mapped[datetime] = mapped_column(TS)
    message_id: Mapped[str | None] = mapped_column(String(36))
    decision: Mapped[str] = mapped_column(String(10))
    blocked_reason: Mapped[str | None] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
