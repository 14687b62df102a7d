"""PagerDuty acknowledge/resolve follow the incident, whoever changed its status.

Read from the database rather than hooked into the status-changing code, so an operator's
resolve, Alertmanager's resolved alert and remediation all lead to the same one event.
"""

from __future__ import annotations

from sqlalchemy import select, text

from app.incidents.escalation import pagerduty
from app.incidents.escalation.send import deliver
from app.incidents.models import Incident
from app.incidents.pipeline.deps import PipelineDeps
from app.incidents.pipeline.view import IncidentView

_DUE = text(
    """
    SELECT i.id, e.event
    FROM incidents i
    JOIN incident_deliveries t ON t.incident_id = i.id AND t.channel = 'pagerduty'
         AND t.event = 'trigger' AND t.state = 'delivered'
    CROSS JOIN LATERAL (SELECT CASE WHEN i.status IN ('resolved', 'closed') THEN 'resolve'
                                    ELSE 'acknowledge' END AS event) e
    WHERE (i.status IN ('resolved', 'closed') OR i.acknowledged_at IS NOT NULL)
      AND NOT EXISTS (
        SELECT 1 FROM incident_deliveries d
        WHERE d.incident_id = i.id AND d.channel = 'pagerduty' AND d.event = e.event
          AND NOT (d.state = 'failed' AND d.retryable)
          AND NOT (d.state = 'sending' AND d.lease_until < now()))
    ORDER BY i.updated_at
    LIMIT :limit
    """
)


async def send_followups(deps: PipelineDeps, owner: str, limit: int = 50) -> int:
    """Send due acknowledge/resolve events; the delivery claim makes replicas send each once."""
    if deps.settings.PAGERDUTY_ROUTING_KEY is None:
        return 0
    async with deps.sessionmaker() as session:
        due = list(await session.execute(_DUE, {"limit": limit}))
        incidents = {
            i.id: IncidentView.of(i)
            for i in await session.scalars(
                select(Incident).where(Incident.id.in_([d[0] for d in due]))
            )
        }
    sent = 0
    for incident_id, event in due:
        body = pagerduty.event_body(deps.settings, incidents[incident_id], event)
        if await deliver(deps, incident_id, "pagerduty", event, body, owner) == "delivered":
            sent += 1
    return sent
