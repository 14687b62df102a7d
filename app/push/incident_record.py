"""Recording an incident push: the PostgreSQL row (settling the claim), snapshot and latest."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock, day_key
from app.core.files import snapshot_name, write_json_atomic, write_snapshot_named
from app.core.settings import Settings
from app.push import incident_claims as claims
from app.push.incident_models import IncidentPushRecord
from app.push.incident_schemas import (
    KIND_TABLE,
    DeliveryActual,
    DeliveryReason,
    IncidentPushV1,
    IncidentRequest,
    IncidentSendAnswer,
    SendReceipt,
)
from app.push.paths import INCIDENT_LATEST, INCIDENT_SNAPSHOTS, PushPaths
from app.push.telegram import TelegramClient
from app.utils.push_formatter import RenderedMessage

log = logging.getLogger(__name__)

INCIDENT_PUSHES = Counter(
    "incident_pushes_total",
    "Incident push calls by kind and outcome (the answer's delivery_reason).",
    ["kind", "outcome"],
)


@dataclass(frozen=True)
class IncidentDeps:
    """What a send needs besides its session; the route and the follow-up task build it."""

    settings: Settings
    telegram: TelegramClient
    paths: PushPaths
    clock: Clock


@dataclass
class Outcome:
    reason: DeliveryReason
    actual: DeliveryActual
    receipt: SendReceipt | None = None
    error_class: str | None = None
    error: str | None = None
    slack_status: str | None = None

    @property
    def result(self) -> Literal["OK", "FAILED"]:
        return "FAILED" if self.reason is DeliveryReason.TELEGRAM_FAILED else "OK"


async def record_push(
    session: AsyncSession,
    deps: IncidentDeps,
    request: IncidentRequest,
    key: str,
    rendered: RenderedMessage,
    now: datetime,
    outcome: Outcome,
    owner: str | None,
) -> IncidentSendAnswer:
    """Store the push (settling our claim with it), then write the snapshot and latest file."""
    push_id = str(uuid.uuid4())
    zone = deps.settings.TIMEZONE
    local = now.astimezone(ZoneInfo(zone))
    stem = f"incident_{request.kind.value}"
    predicted = f"{INCIDENT_SNAPSHOTS}/{snapshot_name(stem, local)}"

    def document(snapshot_ref: str) -> IncidentPushV1:
        return IncidentPushV1(
            asof=now,
            idempotency_key=key,
            kind=request.kind,
            severity=KIND_TABLE[request.kind].severity,
            step=request.step,
            message=rendered.plain,
            reason=request.reason,
            delivery_actual=outcome.actual,
            send_receipt=outcome.receipt,
            snapshot_ref=snapshot_ref,
            evidence_refs=[INCIDENT_LATEST],
        )

    written: list[IncidentPushV1] = []

    def build(name: str) -> IncidentPushV1:
        written.append(document(f"{INCIDENT_SNAPSHOTS}/{name}"))
        return written[-1]

    try:
        write_snapshot_named(deps.paths.abs(INCIDENT_SNAPSHOTS), stem, local, build)
    except OSError:
        # The notice is what matters; a full disk must not turn a delivered push into a 500
        # (the caller would fall back and notify twice).
        log.exception("incident snapshot not written", extra={"idempotency_key": key})
    doc = written[-1] if written else document(predicted)
    async with session.begin():
        if owner is not None:
            settled = await claims.settle(
                session,
                key=key,
                channel=claims.TELEGRAM,
                owner=owner,
                delivered=outcome.reason is not DeliveryReason.TELEGRAM_FAILED,
                push_id=push_id,
                error=outcome.error,
                now=deps.clock.now(),
            )
            if not settled:
                log.error("incident claim lost during send", extra={"idempotency_key": key})
        session.add(
            IncidentPushRecord(
                id=push_id,
                asof=now,
                day=day_key(now, zone),
                kind=request.kind.value,
                mode=request.mode.value,
                idempotency_key=key,
                delivery_actual=outcome.actual.value,
                delivery_reason=outcome.reason.value,
                result=outcome.result,
                telegram_message_id=outcome.receipt.message_id if outcome.receipt else None,
                error_class=outcome.error_class,
                error_message_sanitized=outcome.error,
                slack_status=outcome.slack_status,
                document=doc.model_dump(mode="json"),
            )
        )
    try:
        write_json_atomic(deps.paths.abs(INCIDENT_LATEST), doc)
    except OSError:
        log.exception("incident latest not written", extra={"idempotency_key": key})
    INCIDENT_PUSHES.labels(request.kind.value, outcome.reason.value).inc()
    log.info(
        "incident push",
        extra={
            "idempotency_key": key,
            "mode": request.mode.value,
            "delivery_actual": outcome.actual.value,
            "why": outcome.reason.value,
        },
    )
    return IncidentSendAnswer(
        result=outcome.result,
        skipped=False,
        kind=request.kind,
        idempotency_key=key,
        delivery_actual=outcome.actual,
        delivery_reason=outcome.reason,
        send_receipt=outcome.receipt,
        snapshot_ref=doc.snapshot_ref,
    )
