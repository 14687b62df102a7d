"""Contract D (INCIDENT_PUSH_V1) and the incident-push API's answers; field names exact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.push.schemas import _REPORT_CONFIG


class IncidentKind(StrEnum):
    """The six kinds, in MISSION.md's order."""

    BACKEND_DOWN = "BACKEND_DOWN"
    OPS_BLOCKED = "OPS_BLOCKED"
    OPS_FAILED = "OPS_FAILED"
    LIVE_BLOCKED = "LIVE_BLOCKED"
    LIVE_FAILED = "LIVE_FAILED"
    PUSH_FAILED = "PUSH_FAILED"


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"


class DeliveryActual(StrEnum):
    CONSOLE_SIMULATED = "CONSOLE_SIMULATED"
    TELEGRAM = "TELEGRAM"
    FALLBACK_CURL = "FALLBACK_CURL"


class IncidentMode(StrEnum):
    NORMAL = "normal"
    TEST = "test"


class DeliveryReason(StrEnum):
    """Why a push went where it went (recorded with it; not a contract D field)."""

    DELIVERED = "DELIVERED"  # Telegram accepted it
    TEST_MODE = "TEST_MODE"  # mode=test: console only, the day's key untouched
    EMERGENCY_STOP = "EMERGENCY_STOP"  # the push gate's emergency stop is on
    NO_SECRETS = "NO_SECRETS"  # TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID unset
    TELEGRAM_FAILED = "TELEGRAM_FAILED"  # Telegram refused or was unreachable; key released
    TELEGRAM_UNCONFIRMED = "TELEGRAM_UNCONFIRMED"  # sent, no answer: key used, never repeated
    ALREADY_DELIVERED = "ALREADY_DELIVERED"  # the day's key was used by an earlier push
    IN_FLIGHT = "IN_FLIGHT"  # another caller holds the day's claim right now


Step = Literal["Step1", "Step2", "Step3", "Step4", "Step5", "Step6"]
STEP_LABELS: dict[str, str] = {
    "Step1": "Preflight",
    "Step2": "Health Check",
    "Step3": "Ops Summary",
    "Step4": "Live Cycle",
    "Step5": "Outbox Run",
    "Step6": "Evidence Index",
}


@dataclass(frozen=True)
class KindSpec:
    severity: Severity
    summary: str
    hint: str  # the operator action; INCIDENT_PUSH_HINTS overrides it per kind


# The kind table (README "Incident pushes" repeats it): severity, what happened, what to do.
KIND_TABLE: dict[IncidentKind, KindSpec] = {
    IncidentKind.BACKEND_DOWN: KindSpec(
        Severity.CRITICAL,
        "The server is not responding.",
        "log in to the host and restart the service "
        "(kubectl -n production rollout restart deployment/incident-api).",
    ),
    IncidentKind.OPS_BLOCKED: KindSpec(
        Severity.HIGH,
        "The ops summary is BLOCKED.",
        "open GET /api/ops/summary and clear each BLOCKED reason.",
    ),
    IncidentKind.OPS_FAILED: KindSpec(
        Severity.HIGH,
        "The ops summary could not be produced (API error).",
        "check the service logs and GET /ready.",
    ),
    IncidentKind.LIVE_BLOCKED: KindSpec(
        Severity.MEDIUM,
        "The live cycle decided BLOCKED.",
        "check the push gates (GET /api/push/gates) and the latest self-test.",
    ),
    IncidentKind.LIVE_FAILED: KindSpec(
        Severity.HIGH,
        "The live cycle failed (API error).",
        "check the live-cycle endpoint's logs and rerun daily_ops.sh.",
    ),
    IncidentKind.PUSH_FAILED: KindSpec(
        Severity.MEDIUM,
        "A Telegram push failed.",
        "check the bot token, the chat id and Telegram's status; the sanitized error is in "
        "GET /api/push/incident.",
    ),
}


class SendReceipt(BaseModel):
    """Telegram's acceptance of the push."""

    provider: Literal["TELEGRAM"] = "TELEGRAM"
    message_id: int
    sent_at: datetime

    model_config = _REPORT_CONFIG


class IncidentPushV1(BaseModel):
    """INCIDENT_PUSH_V1: one incident notice, as written to the latest file and its snapshot."""

    schema_: Literal["INCIDENT_PUSH_V1"] = Field(default="INCIDENT_PUSH_V1", alias="schema")
    asof: datetime
    idempotency_key: str
    kind: IncidentKind
    severity: Severity
    step: Step | None
    message: str
    reason: str | None
    delivery_actual: DeliveryActual
    send_receipt: SendReceipt | None
    snapshot_ref: str
    evidence_refs: list[str]

    model_config = _REPORT_CONFIG


class IncidentSendAnswer(BaseModel):
    """`POST /api/push/incident/send`: contract D's five fields, then what happened and why."""

    result: Literal["OK", "FAILED"]
    skipped: bool
    kind: IncidentKind
    idempotency_key: str
    # None only when skipped because another caller's push is still in flight.
    delivery_actual: DeliveryActual | None
    delivery_reason: DeliveryReason
    send_receipt: SendReceipt | None = None
    snapshot_ref: str | None = None


class IncidentPushRecordView(BaseModel):
    """One stored push: the contract document plus the delivery facts around it."""

    push_id: str
    mode: IncidentMode
    result: Literal["OK", "FAILED"]
    delivery_reason: DeliveryReason
    error_class: str | None
    error_message_sanitized: str | None
    slack_status: Literal["delivered", "failed", "skipped"] | None
    document: IncidentPushV1


class IncidentPushPage(BaseModel):
    items: list[IncidentPushRecordView]
    total: int
    limit: int
    offset: int


class IncidentRequest(BaseModel):
    """A validated send request (query parameters of the route, or the PUSH_FAILED follow-up)."""

    model_config = ConfigDict(frozen=True)

    kind: IncidentKind
    mode: IncidentMode = IncidentMode.NORMAL
    reason: str | None = None
    step: Step | None = None
