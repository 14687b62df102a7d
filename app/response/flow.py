"""One pipeline run: investigating -> diagnostics -> (P0 page) -> remediation -> escalation.

Every step is idempotent and writes only under the lease (claims.lock_owned), so a run
that is repeated after a crash picks up where the dead worker stopped.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.lifecycle import transition
from app.incidents.models import Incident, IncidentStatus
from app.incidents.timeline import add_event
from app.push.queue import enqueue_message
from app.push.schemas import PushType
from app.response.claims import lock_owned
from app.response.context import PipelineDeps
from app.response.diagnostics.collect import collect
from app.response.escalation import pagerduty, policy, slack
from app.response.escalation.deliveries import delivered
from app.response.escalation.send import deliver
from app.response.remediation.execute import remediate
from app.response.snapshot import IncidentView

# A new incident of these priorities queues one ALERT push (issue 5).
ALERT_PRIORITIES = frozenset({"P0", "P1"})


class RetryLater(RuntimeError):
    """A step failed in a way worth another attempt (e.g. PagerDuty 5xx after all retries)."""


async def _start(deps: PipelineDeps, incident_id: str, owner: str) -> IncidentView:
    async with deps.sessionmaker() as session, session.begin():
        incident = await lock_owned(session, incident_id, owner)
        await add_event(
            session,
            incident_id,
            "pipeline_started",
            "pipeline",
            data={"attempt": incident.pipeline_attempts, "owner": owner},
        )
        view = IncidentView.of(incident)
        if view.active and view.priority in ALERT_PRIORITIES:
            await _queue_alert_push(session, view)
        if incident.status is IncidentStatus.OPEN:
            await transition(
                session,
                incident,
                IncidentStatus.INVESTIGATING,
                actor="pipeline",
                now=deps.clock.now(),
                note="diagnostics started",
            )
        return IncidentView.of(incident)


async def _queue_alert_push(session: AsyncSession, view: IncidentView) -> None:
    """One ALERT per incident (the dedup_key makes a repeated run a no-op), in the start's
    transaction. Plain values: the push formatter escapes them when it builds the body."""
    lines = [
        f"Alert: {view.alert_name}",
        f"Priority: {view.priority}",
        f"Service: {view.service or '-'}",
        f"Summary: {view.summary or '-'}",
        f"Incident: {view.id}",
    ]
    await enqueue_message(
        session,
        push_type=PushType.ALERT,
        title=f"[{view.priority}] {view.alert_name} on {view.service or 'unknown service'}",
        content="\n".join(lines),
        source_ref=f"incident:{view.id}",
        dedup_key=f"incident:{view.id}:alert",
    )


async def _reload(deps: PipelineDeps, incident_id: str) -> IncidentView:
    async with deps.sessionmaker() as session:
        incident = await session.scalar(select(Incident).where(Incident.id == incident_id))
        assert incident is not None
        return IncidentView.of(incident)


async def _diagnose(deps: PipelineDeps, view: IncidentView, owner: str) -> IncidentView:
    result = await collect(deps, view)
    async with deps.sessionmaker() as session, session.begin():
        incident = await lock_owned(session, view.id, owner)
        incident.diagnostics = result
        await add_event(
            session,
            view.id,
            "diagnostics",
            "diagnostics",
            note=f"collected in {result['duration_ms']} ms",
            data={"errors": result["errors"], "pods": sorted(result["pods"])},
        )
    return dataclasses.replace(view, diagnostics=result)


async def _resolve(deps: PipelineDeps, incident_id: str, owner: str) -> bool:
    async with deps.sessionmaker() as session, session.begin():
        incident = await lock_owned(session, incident_id, owner)
        if incident.status not in (IncidentStatus.OPEN, IncidentStatus.INVESTIGATING):
            return False
        await transition(
            session,
            incident,
            IncidentStatus.RESOLVED,
            actor="remediation",
            now=deps.clock.now(),
            kind="resolved_by_remediation",
            note="remediation verified",
        )
        return True


async def _was_paged(deps: PipelineDeps, incident_id: str) -> bool:
    async with deps.sessionmaker() as session:
        return await delivered(session, incident_id, "pagerduty", "trigger")


async def run_pipeline(deps: PipelineDeps, incident_id: str, owner: str) -> None:
    """The whole response for one claimed incident; raises RetryLater for a deferred retry."""
    s = deps.settings
    view = await _start(deps, incident_id, owner)
    if not view.active:
        return  # resolved or closed before we got here: nothing runs
    retry = False
    if policy.page_at_once(s, view.priority):
        body = pagerduty.event_body(s, view, "trigger") if s.PAGERDUTY_ROUTING_KEY else {}
        retry |= await deliver(deps, view.id, "pagerduty", "trigger", body, owner) == "retry"
    if not (view.diagnostics or {}).get("collected_at"):
        view = await _diagnose(deps, view, owner)
    outcome = await remediate(deps, view, owner)
    if outcome.status == "inactive":
        return  # resolved meanwhile; follow-ups send PagerDuty's resolve
    if outcome.status == "resolved" and await _resolve(deps, view.id, owner):
        if await _was_paged(deps, view.id):
            body = pagerduty.event_body(s, view, "resolve") if s.PAGERDUTY_ROUTING_KEY else {}
            retry |= await deliver(deps, view.id, "pagerduty", "resolve", body, owner) == "retry"
    elif policy.page_after(s, view.priority, outcome.status):
        body = (
            pagerduty.event_body(
                s, view, "trigger", outcome=outcome.status, records=outcome.records
            )
            if s.PAGERDUTY_ROUTING_KEY
            else {}
        )
        retry |= await deliver(deps, view.id, "pagerduty", "trigger", body, owner) == "retry"
    if policy.notify_slack(s, view.priority, outcome.status):
        view = await _reload(deps, view.id)
        body = slack.message(view, outcome.status, outcome.records, s.PUBLIC_BASE_URL)
        retry |= await deliver(deps, view.id, "slack", "notify", body, owner) == "retry"
    if retry:
        raise RetryLater("an escalation failed; retrying later")
