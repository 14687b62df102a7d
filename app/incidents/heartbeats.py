"""The dead man's switch: Alertmanager's always-firing alert (Watchdog) proves the monitoring
path works; its silence opens a P0 incident that pages, and its return resolves it.

The beats themselves are written by the webhook's one statement (ingest.py); this module
reads them and runs the check on the maintenance loop. The incident goes through the same
ingest as any alert, so two replicas running the check at once make one incident (the
partial unique index on the active fingerprint) and it pages like any P0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import driver_connection
from app.core.settings import Settings
from app.incidents.alertmanager import ParsedAlert
from app.incidents.ingest import ingest_alerts
from app.incidents.models import ACTIVE_STATUSES, Heartbeat, Incident

MISSING_ALERT = "AlertmanagerHeartbeatMissing"
SOURCE = "heartbeat"


class HeartbeatOut(BaseModel):
    """One receiver's heartbeat as GET /api/heartbeats shows it."""

    receiver: str
    alert_name: str
    first_seen_at: datetime
    last_seen_at: datetime
    beats: int
    status: Literal["ok", "missing"]
    missing_since: datetime | None = Field(
        description="when the heartbeat became overdue (last seen + HEARTBEAT_TIMEOUT_SECONDS)"
    )
    incident_id: str | None = Field(description=f"the active {MISSING_ALERT} incident, if any")


def fingerprint(receiver: str) -> str:
    """The missing-heartbeat incident's fingerprint: one per receiver, stable everywhere."""
    return "heartbeat:" + hashlib.sha256(receiver.encode()).hexdigest()[:32]


async def heartbeat_status(
    session: AsyncSession, now: datetime, timeout_seconds: float
) -> list[HeartbeatOut]:
    """Every receiver's heartbeat: last seen, ok or missing, and its open incident.

    A small query function for the ops summary and the console as well as the API.
    """
    rows = list(await session.scalars(select(Heartbeat).order_by(Heartbeat.receiver)))
    by_fp = {fingerprint(row.receiver): row.receiver for row in rows}
    active = {
        by_fp[fp]: incident_id
        for incident_id, fp in await session.execute(
            select(Incident.id, Incident.fingerprint).where(
                Incident.fingerprint.in_(list(by_fp)), Incident.status.in_(ACTIVE_STATUSES)
            )
        )
        if fp is not None
    }
    timeout = timedelta(seconds=timeout_seconds)
    out = []
    for row in rows:
        overdue_at = row.last_seen_at + timeout
        missing = overdue_at <= now
        out.append(
            HeartbeatOut(
                receiver=row.receiver,
                alert_name=row.alert_name,
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
                beats=row.beats,
                status="missing" if missing else "ok",
                missing_since=overdue_at if missing else None,
                incident_id=active.get(row.receiver),
            )
        )
    return out


def _alert(beat: HeartbeatOut, firing: bool, now: datetime, timeout: float) -> ParsedAlert:
    since = beat.last_seen_at + timedelta(seconds=timeout)
    summary = (
        f"No {beat.alert_name} from Alertmanager receiver {beat.receiver!r} since "
        f"{beat.last_seen_at.isoformat()}: the monitoring path itself is broken"
    )
    return ParsedAlert(
        fingerprint=fingerprint(beat.receiver),
        firing=firing,
        alert_name=MISSING_ALERT,
        priority="P0",
        severity="critical",
        service=None,
        summary=summary,
        description=(
            f"Alertmanager sends {beat.alert_name} continuously; none arrived for "
            f"{timeout:.0f} s. Check Alertmanager, Prometheus and the route to this service."
        ),
        labels={"alertname": MISSING_ALERT, "severity": "critical", "receiver": beat.receiver},
        annotations={"summary": summary},
        # The same start for every replica and every check: one occurrence per silence.
        starts_at=since,
        ends_at=None if firing else now,
        generator_url=None,
        group_key=f"heartbeat:{beat.receiver}",
        receiver=SOURCE,
    )


@dataclass(frozen=True)
class HeartbeatCheck:
    opened: list[str]  # incident ids created now (the pipeline pages them)
    resolved: list[str]


async def check_heartbeats(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
) -> HeartbeatCheck:
    """Open the missing-heartbeat incident of each silent receiver; resolve it on return."""
    async with sessionmaker() as session:
        beats = await heartbeat_status(session, now, settings.HEARTBEAT_TIMEOUT_SECONDS)
    timeout = settings.HEARTBEAT_TIMEOUT_SECONDS
    alerts = [
        _alert(b, b.status == "missing", now, timeout)
        for b in beats
        if (b.status == "missing") != (b.incident_id is not None)
    ]
    if not alerts:
        return HeartbeatCheck([], [])
    async with driver_connection(engine) as conn:
        results = await ingest_alerts(
            conn,
            alerts,
            now=now,
            pipeline_priorities=list(settings.PIPELINE_PRIORITIES),
            source=SOURCE,
        )
    return HeartbeatCheck(
        opened=[r.incident_id for r in results if r.outcome == "created" and r.incident_id],
        resolved=[r.incident_id for r in results if r.outcome == "resolved" and r.incident_id],
    )
