"""The incident timeline: every change to an incident is one appended row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.redact import redact, redact_value
from app.incidents.models import IncidentEvent


async def add_event(
    session: AsyncSession,
    incident_id: str,
    kind: str,
    actor: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one timeline entry inside the caller's transaction (no commit here)."""
    await session.execute(
        insert(IncidentEvent).values(
            incident_id=incident_id,
            kind=kind,
            actor=actor[:100],
            from_status=from_status,
            to_status=to_status,
            note=redact(note) if note else None,
            data=redact_value(data) if data else None,
        )
    )


async def list_events(session: AsyncSession, incident_id: str) -> list[IncidentEvent]:
    """The timeline of one incident, oldest first."""
    rows = await session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.id)
    )
    return list(rows)
