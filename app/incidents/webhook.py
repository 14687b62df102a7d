"""POST /webhook/alert: parse, store in one transaction, answer; nothing else on this path.

Alertmanager retries only 5xx and drops alerts on any other error, so: 4xx only for a payload
that can never succeed, 503 when the database cannot take the alerts, never 429.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import asyncpg
from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from app.core.auth import AlertmanagerAuth
from app.core.deps import SettingsDep
from app.core.errors import ServiceUnavailable
from app.core.guard import BodyLimit
from app.incidents.alertmanager import (
    ParsedAlert,
    RejectedAlert,
    parse_payload,
    webhook_body_schema,
)
from app.incidents.deps import IngestBatcherDep, PipelineDep
from app.incidents.ingest import IngestResult, rejected
from app.incidents.metrics import INCIDENTS_CREATED, WEBHOOK_ALERTS, WEBHOOK_LATENCY
from app.incidents.schemas import AlertResult, WebhookAnswer

router = APIRouter(tags=["alertmanager"])
log = logging.getLogger(__name__)


@router.post(
    "/webhook/alert",
    response_model=WebhookAnswer,
    # Checked by core.guard before the body is read, like the token (413 over the limit).
    dependencies=[Depends(BodyLimit("WEBHOOK_MAX_BODY_BYTES"))],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": webhook_body_schema()}},
        }
    },
)
async def receive_webhook(
    request: Request,
    _: AlertmanagerAuth,
    background: BackgroundTasks,
    settings: SettingsDep,
    batcher: IngestBatcherDep,
    pipeline: PipelineDep,
) -> Response:
    """Alertmanager webhook (v4) or one bare alert object; one incident id per alert."""
    started = time.perf_counter()
    body = await request.body()
    parsed = parse_payload(body, settings.SEVERITY_PRIORITY_MAP, settings.DEFAULT_PRIORITY)
    alerts = [a for a in parsed if isinstance(a, ParsedAlert)]
    try:
        stored = iter(await batcher.submit(alerts))
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
    results: list[IngestResult] = [
        rejected(a.fingerprint, a.reason) if isinstance(a, RejectedAlert) else next(stored)
        for a in parsed
    ]
    for result in results:
        if result.outcome == "rejected":
            log.warning(
                "alert rejected: it can never be stored",
                extra={"fingerprint": result.fingerprint, "reason": result.reason},
            )
    for outcome, count in Counter(r.outcome for r in results).items():
        WEBHOOK_ALERTS.labels(outcome).inc(count)
    created = Counter(r.priority for r in results if r.outcome == "created")
    for priority, count in created.items():
        INCIDENTS_CREATED.labels(priority).inc(count)
    new = [r.incident_id for r in results if r.pipeline and r.incident_id]
    if new and pipeline is not None:
        background.add_task(pipeline.kick, new)
    WEBHOOK_LATENCY.observe(time.perf_counter() - started)
    answer = WebhookAnswer(
        incident_ids=[r.incident_id for r in results],
        results=[
            AlertResult(
                incident_id=r.incident_id,
                fingerprint=r.fingerprint,
                outcome=r.outcome,
                reason=r.reason,
            )
            for r in results
        ],
        incident_id=results[0].incident_id if len(results) == 1 else None,
    )
    # Serialised once here; letting FastAPI re-validate the response model costs CPU per alert.
    return Response(answer.model_dump_json(), media_type="application/json")
