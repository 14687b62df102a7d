"""Incident metrics: created by priority, open by priority, webhook outcomes and latency."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.models import ACTIVE_STATUSES, Incident, Priority

INCIDENTS_CREATED = Counter("incidents_total", "Incidents created, by priority.", ["priority"])
INCIDENTS_OPEN = Gauge(
    "incidents_open",
    "Incidents open or investigating, by priority (read from the database at scrape).",
    ["priority"],
    multiprocess_mode="max",
)
INCIDENTS_STALE = Gauge(
    "incidents_stale",
    "Active incidents whose alert stopped arriving (read from the database at scrape).",
    multiprocess_mode="max",
)
WEBHOOK_ALERTS = Counter("webhook_alerts_total", "Webhook alerts by outcome.", ["outcome"])
WEBHOOK_LATENCY = Histogram(
    "webhook_request_duration_seconds",
    "Alertmanager webhook handling time, body read to answer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def refresh_gauges(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Scrape hook: count active incidents from PostgreSQL, the one source of truth."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Incident.priority, func.count(), func.count().filter(Incident.stale))
            .where(Incident.status.in_(ACTIVE_STATUSES))
            .group_by(Incident.priority)
        )
        counts = {priority: (total, stale) for priority, total, stale in rows}
    for priority in Priority:
        INCIDENTS_OPEN.labels(priority.value).set(counts.get(priority, (0, 0))[0])
    INCIDENTS_STALE.set(sum(stale for _, stale in counts.values()))
