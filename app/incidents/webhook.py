"""POST /webhook/alert: parse, store in one transaction, answer; nothing else on this path.

Alertmanager retries only 5xx and drops alerts on any other error, so: 4xx only for a payload
that can never succeed, 503 when the database cannot take the alerts, never 429.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import asyncpg
from fastapi import APIRouter, BackgroundTasks, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from app.core.auth import AlertmanagerAuth
from app.core.errors import AppError, PayloadTooLarge, ServiceUnavailable
from app.incidents.alertmanager import parse_payload
from app.incidents.metrics import INCIDENTS_CREATED, WEBHOOK_ALERTS, WEBHOOK_LATENCY
from app.incidents.schemas import AlertResult, WebhookAnswer

router = APIRouter(tags=["alertmanager"])
log = logging.getLogger(__name__)


class BadContentLength(AppError):
    status_code = 400


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes whether or not Content-Length is honest."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadContentLength("Content-Length is not a number")
        if int(declared) > limit:
            raise PayloadTooLarge(f"body of {declared} bytes exceeds the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhook/alert", response_model=WebhookAnswer)
async def receive_webhook(
    request: Request, _: AlertmanagerAuth, background: BackgroundTasks
) -> Response:
    """Alertmanager webhook (v4) or one bare alert object; one incident id per alert."""
    started = time.perf_counter()
    settings = request.app.state.settings
    body = await read_limited(request, settings.WEBHOOK_MAX_BODY_BYTES)
    alerts = parse_payload(body, settings.SEVERITY_PRIORITY_MAP, settings.DEFAULT_PRIORITY)
    try:
        results = await request.app.state.ingest_batcher.submit(alerts)
    except (
        SQLAlchemyError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        TimeoutError,
    ) as exc:
        log.error(
            "alerts not stored; answering 503 so Alertmanager retries",
            extra={"alerts": len(alerts), "error_class": type(exc).__name__},
        )
        raise ServiceUnavailable("database unavailable: alerts not stored, retry later") from None
    for outcome, count in Counter(r.outcome for r in results).items():
        WEBHOOK_ALERTS.labels(outcome).inc(count)
    created = Counter(r.priority for r in results if r.outcome == "created")
    for priority, count in created.items():
        INCIDENTS_CREATED.labels(priority).inc(count)
    new = [r.incident_id for r in results if r.pipeline and r.incident_id]
    runner = getattr(request.app.state, "pipeline_runner", None)
    if new and runner is not None:
        background.add_task(runner.kick, new)
    WEBHOOK_LATENCY.observe(time.perf_counter() - started)
    answer = WebhookAnswer(
        incident_ids=[r.incident_id for r in results],
        results=[
            AlertResult(incident_id=r.incident_id, fingerprint=r.fingerprint, outcome=r.outcome)
            for r in results
        ],
        incident_id=results[0].incident_id if len(results) == 1 else None,
    )
    # Serialised once here; letting FastAPI re-validate the response model costs CPU per alert.
    return Response(answer.model_dump_json(), media_type="application/json")
