"""One pipeline run: investigating -> diagnostics -> (P0 page) -> remediation -> escalation.

Every step is idempotent and writes only under the lease (claims.lock_owned), so a run
that is repeated after a crash picks up where the dead worker stopped.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.lifecycle import transition
from app.incidents.models import IncidentStatus
from app.incidents.timeline import add_event
from app.push.queue import enqueue_message
from app.push.schemas import PushType
from app.response.claims import lock_owned
from app.response.context import PipelineContext
from app.response.diagnostics.collect import collect
from app.response.escalation.escalate import notify, page
from app.response.escalation.events import PageEvent
from app.response.remediation.execute import remediate
from app.response.remediation.outcome import RemediationStatus
from app.response.snapshot import IncidentSnapshot

# A new incident of these priorities queues one ALERT push (issue 5).
ALERT_PRIORITIES = frozenset({"P0", "P1"})


class RetryLater(RuntimeError):
    """A step failed in a way worth another attempt (e.g. PagerDuty 5xx after all retries)."""


async def _start(deps: PipelineContext, incident_id: str, owner: str) -> IncidentSnapshot:
    async with deps.sessionmaker() as session, session.begin():
        incident = await lock_owned(session, incident_id, owner)
        await add_event(
            session,
            incident_id,
            "pipeline_started",
            "pipeline",
            data={"attempt": incident.pipeline_attempts, "owner": owner},
        )
        view = IncidentSnapshot.of(incident)
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
        return IncidentSnapshot.of(incident)


async def _queue_alert_push(session: AsyncSession, view: IncidentSnapshot) -> None:
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


async def _diagnose(deps: PipelineContext, view: IncidentSnapshot, owner: str) -> IncidentSnapshot:
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


async def _resolve(deps: PipelineContext, incident_id: str, owner: str) -> bool:
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


async def run_pipeline(deps: PipelineContext, incident_id: str, owner: str) -> None:
    """The whole response for one claimed incident.

    A page is the incident's group's to deliver (escalation.paging): PagerDuty being down
    never fails or delays the pipeline, and the page stays owed until it is delivered.
    """
    view = await _start(deps, incident_id, owner)
    if not view.active:
        return  # resolved or closed before we got here: nothing runs
    await page(deps, view, owner)  # before remediation: P0 by default
    if not (view.diagnostics or {}).get("collected_at"):
        view = await _diagnose(deps, view, owner)
    outcome = await remediate(deps, view, owner)
    if outcome.status is RemediationStatus.INACTIVE:
        await page(deps, view, owner, PageEvent.RESOLVE)  # its group looks now
        return
    if outcome.status is RemediationStatus.RESOLVED:
        if await _resolve(deps, view.id, owner):
            await page(deps, view, owner, PageEvent.RESOLVE)
    else:
        await page(deps, view, owner, remediation=outcome)
    await notify(deps, view, owner, outcome)
