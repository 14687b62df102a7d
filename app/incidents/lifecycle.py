"""Incident status changes: the allowed transitions, each one written to the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict
from app.incidents.models import ACTIVE_STATUSES, Incident, IncidentStatus
from app.incidents.timeline import add_event

S = IncidentStatus

# operator action -> (statuses it may start from, status it leads to)
ACTIONS: dict[str, tuple[frozenset[IncidentStatus], IncidentStatus]] = {
    "acknowledge": (frozenset(ACTIVE_STATUSES), S.INVESTIGATING),
    "resolve": (frozenset(ACTIVE_STATUSES), S.RESOLVED),
    "close": (frozenset({S.OPEN, S.INVESTIGATING, S.RESOLVED}), S.CLOSED),
    "reopen": (frozenset({S.RESOLVED, S.CLOSED}), S.OPEN),
}


def check_action(incident: Incident, action: str) -> IncidentStatus:
    """The target status of `action`, or Conflict (409) naming why it is not allowed now."""
    allowed_from, target = ACTIONS[action]
    if incident.status not in allowed_from:
        raise Conflict(f"cannot {action} an incident that is {incident.status.value}")
    if action == "acknowledge" and incident.acknowledged_at is not None:
        raise Conflict(f"incident already acknowledged by {incident.acknowledged_by}")
    return target


async def transition(
    session: AsyncSession,
    incident: Incident,
    to_status: IncidentStatus,
    *,
    actor: str,
    now: datetime,
    kind: str = "status_changed",
    note: str | None = None,
) -> None:
    """Move `incident` (locked by the caller) to `to_status` and record it; no commit here."""
    from_status = incident.status
    incident.status = to_status
    incident.updated_at = now
    if to_status is S.RESOLVED:
        incident.resolved_at = now
    elif to_status is S.CLOSED:
        incident.closed_at = now
        incident.resolved_at = incident.resolved_at or now
    elif to_status is S.OPEN:
        incident.resolved_at = None
        incident.closed_at = None
        incident.stale = False
        # A reopened incident needs a fresh acknowledgement (the old one stays in the timeline).
        incident.acknowledged_at = None
        incident.acknowledged_by = None
    await add_event(
        session,
        incident.id,
        kind,
        actor,
        from_status=from_status.value,
        to_status=to_status.value,
        note=note,
    )
