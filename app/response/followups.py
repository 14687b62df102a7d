"""PagerDuty events that follow the incident, whoever changed its status.

Read from the database rather than hooked into the status-changing code, so an operator's
resolve, Alertmanager's resolved alert and remediation all lead to the same one event.
Everything is per generation (the incident's reopen count, see escalation.deliveries): a
reopened incident that pages is triggered again, and its later acknowledge/resolve are new
events too.
"""

from __future__ import annotations

from sqlalchemy import select, text

from app.incidents.models import Incident
from app.response.context import PipelineContext
from app.response.escalation import policy
from app.response.escalation.escalate import page
from app.response.escalation.events import Escalated, PageEvent
from app.response.snapshot import IncidentSnapshot

# Reopen generation and the id of the latest reopen event, per incident.
_GENERATION = """
    CROSS JOIN LATERAL (
        SELECT count(*) AS gen, coalesce(max(r.id), 0) AS reopen_id
        FROM incident_events r WHERE r.incident_id = i.id AND r.kind = 'reopen') g
"""
# No delivery of this event in this generation that is done or still in flight.
_NOT_SENT = """
    NOT EXISTS (
        SELECT 1 FROM incident_deliveries d
        WHERE d.incident_id = i.id AND d.channel = 'pagerduty' AND d.event = {event}
          AND d.generation = g.gen
          AND NOT (d.state = 'failed' AND d.retryable)
          AND NOT (d.state = 'sending' AND d.lease_until < now()))
"""

# Composed of this module's constants only; every value is a bound parameter.
_DUE = text(
    f"""
    SELECT i.id, e.event
    FROM incidents i
    {_GENERATION}
    JOIN incident_deliveries t ON t.incident_id = i.id AND t.channel = 'pagerduty'
         AND t.event = 'trigger' AND t.state = 'delivered' AND t.generation = g.gen
    CROSS JOIN LATERAL (SELECT CASE WHEN i.status IN ('resolved', 'closed') THEN 'resolve'
                                    ELSE 'acknowledge' END AS event) e
    WHERE (i.status IN ('resolved', 'closed')
           OR (i.acknowledged_at IS NOT NULL
               AND (g.gen = 0 OR EXISTS (
                   SELECT 1 FROM incident_events a
                   WHERE a.incident_id = i.id AND a.kind = 'acknowledge' AND a.id > g.reopen_id))))
      AND {_NOT_SENT.format(event="e.event")}
    ORDER BY i.updated_at
    LIMIT :limit
    """  # nosec B608
)

# Reopened, active again, and not yet paged in this generation.
_REOPENED = text(
    f"""
    SELECT i.id
    FROM incidents i
    {_GENERATION}
    WHERE i.status IN ('open', 'investigating')
      AND i.priority::text = ANY(CAST(:priorities AS text[]))
      AND g.gen > 0
      AND {_NOT_SENT.format(event="'trigger'")}
    ORDER BY i.updated_at
    LIMIT :limit
    """  # nosec B608
)


async def send_followups(deps: PipelineContext, owner: str, limit: int = 50) -> int:
    """Send due trigger (after a reopen), acknowledge and resolve events; the delivery claim
    makes replicas send each once."""
    if deps.settings.PAGERDUTY_ROUTING_KEY is None:
        return 0
    async with deps.sessionmaker() as session:
        due = [(row[0], PageEvent(row[1])) for row in await session.execute(_DUE, {"limit": limit})]
        priorities = policy.reopen_paging_priorities(deps.settings)
        if priorities:
            params = {"limit": limit, "priorities": priorities}
            rows = await session.execute(_REOPENED, params)
            due += [(row[0], PageEvent.TRIGGER) for row in rows]
        incidents = {
            i.id: IncidentSnapshot.of(i)
            for i in await session.scalars(
                select(Incident).where(Incident.id.in_([d[0] for d in due]))
            )
        }
    sent = 0
    for incident_id, event in due:
        view = incidents[incident_id]
        reopened = event is PageEvent.TRIGGER
        if await page(deps, view, owner, event, reopened=reopened) is Escalated.DELIVERED:
            sent += 1
    return sent
