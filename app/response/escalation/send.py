"""Deliver one (incident, channel, event): claim, call with retries, audit, settle.

Callers go through `escalate.page` / `escalate.notify`, which apply the policy and build
the body first.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from app.core.http import Attempt, request_with_retries
from app.incidents.timeline import add_event
from app.response.context import PipelineContext
from app.response.escalation import deliveries, pagerduty, slack
from app.response.escalation.events import Channel, Escalated
from app.response.metrics import ESCALATIONS

log = logging.getLogger(__name__)


def _peer(
    deps: PipelineContext, channel: Channel
) -> tuple[httpx.AsyncClient, str | None, frozenset[int]]:
    s = deps.settings
    if channel is Channel.PAGERDUTY:
        url = s.PAGERDUTY_EVENTS_URL if s.PAGERDUTY_ROUTING_KEY is not None else None
        return deps.pagerduty, url, pagerduty.RETRY_STATUS
    secret = s.SLACK_WEBHOOK_URL
    return deps.slack, secret.get_secret_value() if secret else None, slack.RETRY_STATUS


async def _timeline(deps: PipelineContext, incident_id: str, data: dict[str, Any]) -> None:
    async with deps.sessionmaker() as session, session.begin():
        await add_event(
            session,
            incident_id,
            "escalation",
            "escalation",
            note=f"{data['channel']} {data['event']}: {data['result']}",
            data=data,
        )


async def deliver(
    deps: PipelineContext,
    incident_id: str,
    channel: Channel,
    event: str,
    body: dict[str, Any],
    owner: str,
) -> Escalated:
    """Everything but `not_due`: the caller has applied the policy."""
    channel = Channel(channel)
    client, url, retry_status = _peer(deps, channel)
    policy = deps.retry
    lease = policy.max_total_seconds + deps.settings.HTTP_TIMEOUT_SECONDS * policy.max_attempts + 30
    delivery_id = await deliveries.claim(
        deps.sessionmaker, incident_id, channel, event, owner, lease
    )
    if delivery_id is None:
        ESCALATIONS.labels(channel, Escalated.DUPLICATE).inc()
        return Escalated.DUPLICATE
    if url is None:
        await deliveries.settle(
            deps.sessionmaker,
            delivery_id,
            delivered=False,
            retryable=False,
            http_status=None,
            error=f"{channel} is not configured",
        )
        ESCALATIONS.labels(channel, Escalated.SKIPPED).inc()
        await _timeline(
            deps, incident_id, {"channel": channel, "event": event, "result": Escalated.SKIPPED}
        )
        return Escalated.SKIPPED

    async def audit(attempt: Attempt) -> None:
        await deliveries.record_attempt(
            deps.sessionmaker, delivery_id, incident_id, channel, event, attempt
        )

    outcome = await request_with_retries(
        client,
        "POST",
        url,
        policy=policy,
        retry_status=retry_status,
        on_attempt=audit,
        sleep=deps.sleep,
        json=body,
    )
    last = outcome.last
    retryable = not outcome.ok and (last.status is None or last.status in retry_status)
    await deliveries.settle(
        deps.sessionmaker,
        delivery_id,
        delivered=outcome.ok,
        retryable=retryable,
        http_status=last.status,
        error=last.error,
    )
    result = Escalated.DELIVERED if outcome.ok else Escalated.FAILED
    ESCALATIONS.labels(channel, result).inc()
    await _timeline(
        deps,
        incident_id,
        {
            "channel": channel,
            "event": event,
            "result": result,
            "attempts": len(outcome.attempts),
            "http_status": last.status,
            "error": last.error,
        },
    )
    log.info("escalation", extra={"incident": incident_id, "channel": channel, "result": result})
    return Escalated.RETRY if retryable else result
