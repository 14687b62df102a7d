"""Response models of the /api/push routes (the contracts' reports are in `schemas.py`).

Timestamps the API computed from rows are ISO 8601 strings as `datetime.isoformat()` writes
them (`+00:00`), so they are typed `IsoTime`, not re-serialized.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.push.schemas import GateMode, MessageStatus, PushSendReceiptV1, PushType

IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class MessageQueued(BaseModel):
    """`POST /api/push/messages`: 201 created, or 200 with the id of the same `dedup_key`."""

    result: Literal["OK"] = "OK"
    message_id: str
    created: bool


class MessageOut(BaseModel):
    message_id: str
    push_type: PushType
    title: str
    content: str  # redacted at enqueue
    source_ref: str | None
    dedup_key: str | None
    status: MessageStatus
    secret_suspected: bool
    created_at: IsoTime
    attempts: int
    sent_at: IsoTime | None
    telegram_message_id: int | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int
    limit: int
    offset: int


class WindowOut(BaseModel):
    """The one-shot send window."""

    window_id: str
    opened_at: IsoTime
    expires_at: IsoTime
    budget: int
    used: int
    remaining: int
    expired: bool
    opened_by: str


class GateOut(BaseModel):
    """The gate; the configured chat is reported as allowed or not, never by value."""

    mode: GateMode
    sender_enabled: bool
    emergency_stop: bool
    allowlist_chat_hashes: list[str]
    allowlist_push_types: list[PushType]
    configured_chat_allowed: bool
    version: int
    updated_at: IsoTime
    updated_by: str | None
    window: WindowOut | None


class WindowClosed(BaseModel):
    result: Literal["OK"] = "OK"
    closed_window_id: str


class AuditEntry(BaseModel):
    id: int
    at: IsoTime
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


class SendAnswer(BaseModel):
    """`POST /api/push/send`: receipts per decision, and every receipt."""

    result: Literal["OK"] = "OK"
    summary: dict[str, int]  # decision -> count
    receipts: list[PushSendReceiptV1]


class ReceiptPage(BaseModel):
    items: list[PushSendReceiptV1]
    total: int
    limit: int
    offset: int
