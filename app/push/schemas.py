"""Pydantic contracts of the push pipeline (MISSION.md contracts B and C, field names exact)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.utils.push_formatter import FORMATTER_REF


class PushType(StrEnum):
    ALERT = "ALERT"
    INCIDENT = "INCIDENT"
    REPORT = "REPORT"
    INFO = "INFO"


class MessageStatus(StrEnum):
    """A queued message: PENDING -> SENDING (claimed by a sender) -> SENT, back to PENDING
    after a failed send, or UNCONFIRMED when a send's outcome is unknown (never re-sent)."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    UNCONFIRMED = "UNCONFIRMED"


class GateMode(StrEnum):
    MOCK_ONLY = "MOCK_ONLY"
    DRY_RUN = "DRY_RUN"
    REAL_ENABLED = "REAL_ENABLED"


class Decision(StrEnum):
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    BLOCKED = "BLOCKED"
    FAILED = "FAILED"


class BlockedReason(StrEnum):
    """Contract C's reasons, in the order the send gates are evaluated."""

    EMERGENCY_STOP = "EMERGENCY_STOP"
    NOT_REAL_GATE = "NOT_REAL_GATE"
    SENDER_DISABLED = "SENDER_DISABLED"
    SELF_TEST_FAIL = "SELF_TEST_FAIL"
    NO_MESSAGES = "NO_MESSAGES"
    ALLOWLIST_VIOLATION = "ALLOWLIST_VIOLATION"
    WINDOW_CONSUMED = "WINDOW_CONSUMED"
    SECRET_INJECTION_SUSPECTED = "SECRET_INJECTION_SUSPECTED"  # a verdict  # nosec B105


class OutboxBlockedReason(StrEnum):
    NO_SECRETS_FOR_ANY_CHANNEL = "NO_SECRETS_FOR_ANY_CHANNEL"
    SECRET_INJECTION_SUSPECTED = "SECRET_INJECTION_SUSPECTED"  # a verdict  # nosec B105


# Reports serialize under their contract's field names; every field is present in the file,
# so the generated JSON schema marks defaulted fields (schema, channel, ...) required as well.
_REPORT_CONFIG = ConfigDict(
    populate_by_name=True, serialize_by_alias=True, json_schema_serialization_defaults_required=True
)

SelfTestDecision = Literal["SELF_TEST_PASS", "SELF_TEST_FAIL"]
Channel = Literal["CONSOLE", "TELEGRAM"]


class SecretsStatus(BaseModel):
    """Whether each Telegram secret is present; never its value."""

    TELEGRAM_BOT_TOKEN: bool
    TELEGRAM_CHAT_ID: bool


# --- contract B ----------------------------------------------------------------------------


class OutboxMessage(BaseModel):
    message_id: str
    push_type: PushType
    title: str
    content: str
    target_channels: list[Channel]
    blocked_reason: OutboxBlockedReason | None


class OutboxSummary(BaseModel):
    total_messages: int
    console_bound: int
    external_candidate: int


class PushOutboxV1(BaseModel):
    """What would be sent; recording only (delivery_policy is always CONSOLE_ONLY)."""

    schema_: Literal["PUSH_OUTBOX_V1"] = Field(default="PUSH_OUTBOX_V1", alias="schema")
    outbox_id: str
    asof: datetime
    delivery_run_id: str
    gate_mode_observed: GateMode
    delivery_policy: Literal["CONSOLE_ONLY"] = "CONSOLE_ONLY"
    self_test_decision_observed: SelfTestDecision | None
    messages: list[OutboxMessage]
    summary: OutboxSummary

    model_config = _REPORT_CONFIG


# --- contract C ----------------------------------------------------------------------------


class PushSendReceiptV1(BaseModel):
    """The receipt of one send decision for one message (or the one NO_MESSAGES receipt)."""

    schema_: Literal["PUSH_SEND_RECEIPT_V1"] = Field(default="PUSH_SEND_RECEIPT_V1", alias="schema")
    send_id: str
    asof: datetime
    channel: Literal["TELEGRAM"] = "TELEGRAM"
    message_id: str | None
    request_type: PushType | None
    decision: Decision
    blocked_reason: BlockedReason | None
    formatter_ref: str = FORMATTER_REF
    preview_ref: str = "api:/api/push/preview/latest"
    secrets_status_observed: SecretsStatus
    http_status: int | None
    error_class: str | None
    error_message_sanitized: str | None
    evidence_refs: list[str]

    model_config = _REPORT_CONFIG


# --- reports of this pipeline (not locked by a contract; versioned like them) --------------


class PreviewMessage(BaseModel):
    message_id: str
    push_type: PushType
    parse_mode: Literal["HTML"] = "HTML"
    body: str
    body_plain_fallback: str
    length: int
    truncated: bool
    blocked_reason: OutboxBlockedReason | None


class PushPreviewV1(BaseModel):
    """The exact bodies the sender would post for the latest outbox."""

    schema_: Literal["PUSH_PREVIEW_V1"] = Field(default="PUSH_PREVIEW_V1", alias="schema")
    outbox_id: str
    asof: datetime
    formatter_ref: str = FORMATTER_REF
    messages: list[PreviewMessage]

    model_config = _REPORT_CONFIG


class SelfTestCheck(BaseModel):
    name: Literal["secrets_present", "formatter_round_trip", "telegram_get_me"]
    passed: bool
    detail: str


class PushSelfTestV1(BaseModel):
    schema_: Literal["PUSH_SELF_TEST_V1"] = Field(default="PUSH_SELF_TEST_V1", alias="schema")
    self_test_id: str
    asof: datetime
    decision: SelfTestDecision
    checks: list[SelfTestCheck]
    secrets_status_observed: SecretsStatus

    model_config = _REPORT_CONFIG


class EvidenceEntry(BaseModel):
    name: str
    path: str
    asof: str | None
    sha256: str


class EvidenceIndexV1(BaseModel):
    schema_: Literal["EVIDENCE_INDEX_V1"] = Field(default="EVIDENCE_INDEX_V1", alias="schema")
    asof: datetime
    entries: list[EvidenceEntry]

    model_config = _REPORT_CONFIG


# --- API inputs ----------------------------------------------------------------------------


class MessageCreate(BaseModel):
    """`POST /api/push/messages`."""

    model_config = ConfigDict(extra="forbid")

    push_type: PushType
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=20_000)
    source_ref: str | None = Field(default=None, max_length=200)
    dedup_key: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("title", "content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class GateUpdate(BaseModel):
    """`PATCH /api/push/gates`: only the fields given change; `reason` goes to the audit trail."""

    model_config = ConfigDict(extra="forbid")

    mode: GateMode | None = None
    sender_enabled: bool | None = None
    emergency_stop: bool | None = None
    allowlist_chat_ids: list[str] | None = Field(default=None, max_length=50)
    allowlist_push_types: list[PushType] | None = None
    reason: str | None = Field(default=None, max_length=200)

    @field_validator("allowlist_chat_ids")
    @classmethod
    def _chat_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for chat in value:
            if not chat.lstrip("-").isdigit() and not chat.startswith("@"):
                raise ValueError("chat ids are integers (e.g. -1001234567890) or @channelname")
        return value


class WindowOpen(BaseModel):
    """`POST /api/push/gates/window`: a one-shot send window."""

    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(default=600, ge=10, le=24 * 3600)
    budget: int = Field(default=1, ge=1, le=100)
    reason: str | None = Field(default=None, max_length=200)
