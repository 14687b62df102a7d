"""Incident domain logic: create directly, read, act, flag stale (webhooks: batcher.py)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import driver_connection
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.settings import Settings
from app.incidents import lifecycle
from app.incidents.alertmanager import ParsedAlert, priority_for
from app.incidents.ingest import IngestResult, ingest_alerts
from app.incidents.models import Incident, IncidentStatus, Priority
from app.incidents.schemas import IncidentCreate

API_RECEIVER = "api"  # incidents opened through POST /incidents


async def create_incident(
    engine: AsyncEngine, body: IncidentCreate, settings: Settings, now: datetime, actor: str
) -> IngestResult:
    """Open an incident without Alertmanager; `dedup_key` dedups like a fingerprint."""
    labels = {"alertname": body.alert_name, **body.labels}
    if body.service:
        labels["service"] = body.service
    if body.severity:
        labels["severity"] = body.severity
    priority = body.priority.value if body.priority else None
    # Its own group unless the caller names one (then the group's incidents share a page).
    group_key = f"api:{body.group}" if body.group else f"incident:{uuid.uuid4()}"
    alert = ParsedAlert(
        # A namespace of its own: a caller's key can never collide with Alertmanager's.
        fingerprint=f"api:{body.dedup_key}" if body.dedup_key else f"api:{uuid.uuid4()}",
        firing=True,
        alert_name=body.alert_name,
        priority=priority
        or priority_for(labels, settings.SEVERITY_PRIORITY_MAP, settings.DEFAULT_PRIORITY),
        severity=body.severity,
        service=body.service,
        summary=body.summary,
        description=body.description,
        labels=labels,
        annotations={
            k: v for k, v in (("summary", body.summary), ("description", body.description)) if v
        },
        starts_at=None,
        ends_at=None,
        generator_url=None,
        group_key=group_key,
        receiver=API_RECEIVER,
    )
    async with driver_connection(engine) as conn:
        (result,) = await ingest_alerts(
            conn,
            [alert],
            now=now,
            pipeline_priorities=list(settings.PIPELINE_PRIORITIES),
            source=f"api:{actor}"[:32],
        )
    return result


async def get_incident(session: AsyncSession, incident_id: str) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


async def act(
    session: AsyncSession,
    incident_id: str,
    action: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> Incident:
    """Apply an operator action under a row lock; 409 when the transition is not allowed."""
    async with session.begin():
        incident = await session.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        target = lifecycle.check_action(incident, action)
        if action == "reopen" and incident.fingerprint:
            await _refuse_reopen_over_active(session, incident)
        if action == "acknowledge":
            incident.acknowledged_at = now
            incident.acknowledged_by = actor[:100]
        await lifecycle.transition(
            session, incident, target, actor=actor, now=now, kind=action, note=note
        )
    return incident


async def _refuse_reopen_over_active(session: AsyncSession, incident: Incident) -> None:
    active = await session.scalar(
        select(Incident.id).where(
            Incident.fingerprint == incident.fingerprint,
            Incident.status.in_((IncidentStatus.OPEN, IncidentStatus.INVESTIGATING)),
        )
    )
    if active is not None:
        raise Conflict(f"incident {active} is already active for this alert")


@dataclass(frozen=True)
class IncidentFilter:
    statuses: list[IncidentStatus]
    priorities: list[Priority]
    since: datetime | None
    until: datetime | None
    alert_name: str | None
    service: str | None


def encode_cursor(incident: Incident) -> str:
    raw = f"{incident.created_at.isoformat()}|{incident.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, incident_id = raw.split("|", 1)
        return datetime.fromisoformat(created), incident_id
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("cursor is not one this API issued") from None


def _filtered(query: Select[Incident], f: IncidentFilter) -> Select[Incident]:
    if f.statuses:
        query = query.where(Incident.status.in_(f.statuses))
    if f.priorities:
        query = query.where(Incident.priority.in_(f.priorities))
    if f.since:
        query = query.where(Incident.created_at >= f.since)
    if f.until:
        query = query.where(Incident.created_at < f.until)
    if f.alert_name:
        query = query.where(Incident.alert_name == f.alert_name)
    if f.service:
        query = query.where(Incident.service == f.service)
    return query


async def list_incidents(
    session: AsyncSession, f: IncidentFilter, limit: int, cursor: str | None
) -> tuple[list[Incident], str | None]:
    """Newest first, keyset-paginated on (created_at, id); returns the next cursor if any."""
    query = _filtered(select(Incident), f)
    if cursor:
        created, incident_id = _decode_cursor(cursor)
        query = query.where(tuple_(Incident.created_at, Incident.id) < tuple_(created, incident_id))
    query = query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


_FLAG_STALE_SQL = text("""
WITH flagged AS (
  UPDATE incidents SET stale = true, updated_at = :now
  WHERE status IN ('open', 'investigating') AND NOT stale AND source = 'alertmanager'
    AND last_seen_at < :cutoff
  RETURNING id, last_seen_at
)
INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
SELECT id, :now, 'flagged_stale', 'maintenance',
       'alert not seen since last_seen_at; silenced alerts never send resolved',
       jsonb_build_object('last_seen_at', last_seen_at)
FROM flagged
RETURNING incident_id
""")


async def flag_stale(session: AsyncSession, now: datetime, after_seconds: int) -> list[str]:
    """Mark active incidents whose alert stopped arriving; never closes them."""
    async with session.begin():
        rows = await session.execute(
            _FLAG_STALE_SQL, {"now": now, "cutoff": now - timedelta(seconds=after_seconds)}
        )
        return [r.incident_id for r in rows]
