"""Incident pushes (contract D): one delivered notice per kind per day, straight to Telegram.

Unlike the outbox send, an incident push does not wait for the REAL gate, the sender switch,
the self-test or the one-shot window: an outage notice must go out. The emergency stop holds.
Order of a normal-mode call: the day's key already delivered -> skipped; emergency stop or
missing secrets -> CONSOLE_SIMULATED (key untouched); claim the key (lost -> skipped); send;
record the push and settle the claim in one transaction; write the latest file and snapshot.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.redact import redact
from app.core.settings import Settings
from app.push import incident_claims as claims
from app.push.gates import read_gate
from app.push.incident_models import IncidentPushRecord
from app.push.incident_record import INCIDENT_PUSHES, IncidentDeps, Outcome, record_push
from app.push.incident_schemas import (
    KIND_TABLE,
    STEP_LABELS,
    DeliveryActual,
    DeliveryReason,
    IncidentKind,
    IncidentMode,
    IncidentPushV1,
    IncidentRequest,
    IncidentSendAnswer,
    SendReceipt,
)
from app.push.incident_slack import post_to_slack
from app.push.telegram import TelegramResult
from app.utils.push_formatter import RenderedMessage, render_incident

log = logging.getLogger(__name__)

REASON_MAX = 500
ERROR_MAX = 300


@dataclass(frozen=True)
class PushFailure:
    """A Telegram failure the caller must report as one PUSH_FAILED push (never for one)."""

    kind: IncidentKind
    step: str | None
    error: str


def render(settings: Settings, request: IncidentRequest) -> RenderedMessage:
    """The message from the one formatter, with the kind's (configurable) operator hint."""
    spec = KIND_TABLE[request.kind]
    return render_incident(
        request.kind.value,
        spec.summary,
        severity=spec.severity.value,
        step=request.step,
        step_label=STEP_LABELS.get(request.step or ""),
        reason=request.reason,
        hint=settings.INCIDENT_PUSH_HINTS.get(request.kind.value, spec.hint),
    )


def clean_reason(reason: str | None) -> str | None:
    """The caller's reason, redacted and bounded (it lands in Telegram, files and the DB)."""
    if reason is None:
        return None
    # Control characters (terminal escapes, bells) are noise in a chat message: spaces.
    printable = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in reason)
    return redact(" ".join(printable.split()))[:REASON_MAX] or None


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def send_incident(
    session: AsyncSession, deps: IncidentDeps, request: IncidentRequest
) -> tuple[IncidentSendAnswer, PushFailure | None]:
    """Make (or skip) one incident push; a Telegram failure comes back as a PushFailure."""
    settings = deps.settings
    now = deps.clock.now()
    request = request.model_copy(update={"reason": clean_reason(request.reason)})
    key = claims.idempotency_key(request.kind, now, settings.TIMEZONE)
    rendered = render(settings, request)
    if request.mode is IncidentMode.TEST:
        outcome = Outcome(DeliveryReason.TEST_MODE, DeliveryActual.CONSOLE_SIMULATED)
        return await record_push(session, deps, request, key, rendered, now, outcome, None), None

    claim, record = await claims.current(session, key, claims.TELEGRAM)
    if claim is not None and claim.state == "delivered":
        return _skipped(request, key, DeliveryReason.ALREADY_DELIVERED, record), None
    async with session.begin():
        stopped = (await read_gate(session)).emergency_stop
    if stopped or not _has_secrets(settings):
        reason = DeliveryReason.EMERGENCY_STOP if stopped else DeliveryReason.NO_SECRETS
        outcome = Outcome(reason, DeliveryActual.CONSOLE_SIMULATED)
        if not stopped and request.kind is IncidentKind.PUSH_FAILED:
            outcome.slack_status = await _slack(session, deps, request, key, rendered.plain)
        return await record_push(session, deps, request, key, rendered, now, outcome, None), None

    owner = _owner()
    lease = settings.PUSH_SEND_LEASE_SECONDS
    if not await claims.take(
        session,
        key=key,
        channel=claims.TELEGRAM,
        kind=request.kind,
        owner=owner,
        now=now,
        lease_seconds=lease,
    ):
        claim, record = await claims.current(session, key, claims.TELEGRAM)
        delivered = claim is not None and claim.state == "delivered"
        why = DeliveryReason.ALREADY_DELIVERED if delivered else DeliveryReason.IN_FLIGHT
        return _skipped(request, key, why, record), None

    result = await _telegram(deps, rendered)
    outcome = _telegram_outcome(result, deps.clock)
    if request.kind is IncidentKind.PUSH_FAILED:
        outcome.slack_status = await _slack(session, deps, request, key, rendered.plain)
    answer = await record_push(session, deps, request, key, rendered, now, outcome, owner)
    failure = None
    if outcome.receipt is None and request.kind is not IncidentKind.PUSH_FAILED:
        # PUSH_FAILED never raises another PUSH_FAILED: one follow-up, never a loop.
        detail = f"{outcome.error_class} (HTTP {result.http_status}): {outcome.error}"
        if outcome.reason is DeliveryReason.TELEGRAM_UNCONFIRMED:
            detail = f"unconfirmed, it may have arrived: {detail}"
        failure = PushFailure(request.kind, request.step, detail[:ERROR_MAX])
    return answer, failure


def _has_secrets(settings: Settings) -> bool:
    token, chat = settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_CHAT_ID
    return bool(token and token.get_secret_value() and chat and chat.get_secret_value())


async def _telegram(deps: IncidentDeps, rendered: RenderedMessage) -> TelegramResult:
    chat = deps.settings.TELEGRAM_CHAT_ID
    assert chat is not None  # _has_secrets checked it  # nosec B101
    result = await deps.telegram.send_message(chat.get_secret_value(), rendered.html, html=True)
    if result.cant_parse_entities:
        result = await deps.telegram.send_message(
            chat.get_secret_value(), rendered.plain, html=False
        )
    return result


def _telegram_outcome(result: TelegramResult, clock: Clock) -> Outcome:
    message_id = result.result.get("message_id")
    if result.ok and isinstance(message_id, int):
        receipt = SendReceipt(message_id=message_id, sent_at=clock.now())
        return Outcome(DeliveryReason.DELIVERED, DeliveryActual.TELEGRAM, receipt)
    # No answer after the request left: Telegram may have posted it. Like the outbox sender,
    # never repeat it (no idempotency key at Telegram): the day's key counts as used.
    unknown = result.outcome_unknown
    return Outcome(
        DeliveryReason.TELEGRAM_UNCONFIRMED if unknown else DeliveryReason.TELEGRAM_FAILED,
        DeliveryActual.TELEGRAM,
        error_class=redact(result.error_class or "TelegramError"),
        error=redact(result.error_message or "no detail")[:ERROR_MAX],
    )


async def _slack(
    session: AsyncSession, deps: IncidentDeps, request: IncidentRequest, key: str, text: str
) -> str | None:
    """PUSH_FAILED also goes to Slack when SLACK_WEBHOOK_URL is set, once per day."""
    url = deps.settings.SLACK_WEBHOOK_URL
    if url is None or not url.get_secret_value():
        return None
    owner = _owner()
    now = deps.clock.now()
    if not await claims.take(
        session,
        key=key,
        channel=claims.SLACK,
        kind=request.kind,
        owner=owner,
        now=now,
        lease_seconds=deps.settings.PUSH_SEND_LEASE_SECONDS,
    ):
        return "skipped"
    ok, error = await post_to_slack(deps.settings, url.get_secret_value(), text)
    async with session.begin():
        await claims.settle(
            session,
            key=key,
            channel=claims.SLACK,
            owner=owner,
            delivered=ok,
            push_id=None,
            error=error,
            now=deps.clock.now(),
        )
    return "delivered" if ok else "failed"


def _skipped(
    request: IncidentRequest, key: str, why: DeliveryReason, record: IncidentPushRecord | None
) -> IncidentSendAnswer:
    document = IncidentPushV1.model_validate(record.document) if record is not None else None
    log.info("incident push skipped", extra={"idempotency_key": key, "why": why.value})
    INCIDENT_PUSHES.labels(request.kind.value, why.value).inc()
    return IncidentSendAnswer(
        result="OK",
        skipped=True,
        kind=request.kind,
        idempotency_key=key,
        delivery_actual=document.delivery_actual if document else None,
        delivery_reason=why,
        send_receipt=document.send_receipt if document else None,
        snapshot_ref=document.snapshot_ref if document else None,
    )
