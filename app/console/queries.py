"""What the console reads from PostgreSQL: the overview's figures and an incident's ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.charts import HourBucket
from app.incidents.models import ACTIVE_STATUSES, Incident
from app.response.escalation import queries as paging_queries
from app.response.models import PageCall, PageGroup

PRIORITIES = ("P0", "P1", "P2")


@dataclass(frozen=True)
class ResponseTimes:
    """Mean time to acknowledge / resolve over incidents opened in the window."""

    mtta_seconds: float | None
    acknowledged: int
    mttr_seconds: float | None
    resolved: int
    opened: int


async def open_incidents(session: AsyncSession, limit: int = 100) -> dict[str, list[Incident]]:
    """Active incidents grouped by priority, newest first within each."""
    rows = await session.scalars(
        select(Incident)
        .where(Incident.status.in_(ACTIVE_STATUSES))
        .order_by(Incident.priority, Incident.created_at.desc())
        .limit(limit)
    )
    grouped: dict[str, list[Incident]] = {p: [] for p in PRIORITIES}
    for incident in rows:
        grouped[incident.priority.value].append(incident)
    return grouped


async def open_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        text(
            "SELECT priority::text AS p, count(*) AS n FROM incidents "
            "WHERE status IN ('open', 'investigating') GROUP BY priority"
        )
    )
    counts = dict.fromkeys(PRIORITIES, 0)
    counts.update({r.p: r.n for r in rows})
    return counts


async def hourly(session: AsyncSession, now: datetime, hours: int = 24) -> list[HourBucket]:
    """Incidents opened per hour over the last `hours`, by priority (empty hours included)."""
    # Buckets in UTC whatever the database's TimeZone (zones with half-hour offsets exist).
    now = now.astimezone(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    rows = await session.execute(
        text(
            "SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AS h, priority::text AS p, "
            "count(*) AS n "
            "FROM incidents WHERE created_at >= :start AND created_at < :end GROUP BY 1, 2"
        ),
        {"start": start, "end": end},
    )
    found: dict[datetime, dict[str, int]] = {}
    for row in rows:
        found.setdefault(row.h.replace(tzinfo=UTC), {})[row.p] = row.n
    return [
        HourBucket(start + timedelta(hours=i), found.get(start + timedelta(hours=i), {}))
        for i in range(hours)
    ]


async def response_times(session: AsyncSession, now: datetime, days: int = 7) -> ResponseTimes:
    """MTTA over acknowledged incidents and MTTR over resolved ones, opened in the window."""
    row = (
        await session.execute(
            text(
                "SELECT count(*) AS opened, "
                "count(acknowledged_at) AS acked, "
                "avg(extract(epoch FROM acknowledged_at - created_at)) AS mtta, "
                "count(resolved_at) AS resolved, "
                "avg(extract(epoch FROM resolved_at - created_at)) AS mttr "
                "FROM incidents WHERE created_at >= :since"
            ),
            {"since": now - timedelta(days=days)},
        )
    ).one()
    return ResponseTimes(
        mtta_seconds=float(row.mtta) if row.mtta is not None else None,
        acknowledged=row.acked,
        mttr_seconds=float(row.mttr) if row.mttr is not None else None,
        resolved=row.resolved,
        opened=row.opened,
    )


async def noisiest(
    session: AsyncSession, now: datetime, days: int = 7, limit: int = 8
) -> list[dict[str, Any]]:
    """Alerts with the most incidents and occurrences; flaps = returns after a resolution."""
    rows = await session.execute(
        text(
            "SELECT i.alert_name, count(*) AS incidents, sum(i.occurrence_count) AS occurrences, "
            "count(i.previous_incident_id) AS returns, "
            "coalesce(sum(r.reopens), 0) AS reopens, max(i.created_at) AS last_at "
            "FROM incidents i LEFT JOIN LATERAL (SELECT count(*) AS reopens FROM incident_events e "
            "  WHERE e.incident_id = i.id AND e.kind = 'reopen') r ON true "
            "WHERE i.created_at >= :since GROUP BY i.alert_name "
            "ORDER BY count(*) DESC, sum(i.occurrence_count) DESC LIMIT :limit"
        ),
        {"since": now - timedelta(days=days), "limit": limit},
    )
    return [
        {
            "alert_name": r.alert_name,
            "incidents": r.incidents,
            "occurrences": int(r.occurrences or 0),
            "flaps": int(r.returns) + int(r.reopens),
            "last_at": r.last_at,
        }
        for r in rows
    ]


FAILED_WORDS = {"failed": "failed, will be retried", "gave_up": "gave up: needs a person"}


async def failed_calls(session: AsyncSession) -> list[dict[str, Any]]:
    """Groups whose latest PagerDuty/Slack call failed (the paging ledger, page_calls)."""
    return [
        {"call": c, "why": FAILED_WORDS.get(c.result, c.result)}
        for c in await paging_queries.failing_calls(session)
    ]


async def held_pages(session: AsyncSession) -> list[str]:
    """Groups the storm budget holds back, in the order they will be paged, one line each."""
    return [
        f"{p.priority or '-'} {', '.join(p.alert_names) or p.group_key}: "
        f"{p.incidents} active incident(s), held since {p.held_at:%Y-%m-%d %H:%M:%S %Z}"
        for p in await paging_queries.held_pages(session)
    ]


async def heartbeats(session: AsyncSession) -> list[dict[str, Any]] | None:
    """Rows of the `heartbeats` table when it exists (another change adds it), else None."""
    exists = await session.scalar(text("SELECT to_regclass('public.heartbeats') IS NOT NULL"))
    if not exists:
        return None
    rows = await session.execute(text("SELECT * FROM heartbeats ORDER BY 1 LIMIT 50"))
    return [dict(r._mapping) for r in rows]


async def incident_calls(session: AsyncSession, incident: Incident) -> list[PageCall]:
    """The calls made for the incident's group (one page per Alertmanager group)."""
    if incident.page_key is None:
        return []
    return await paging_queries.group_calls(session, incident.page_key)


async def group_ledger(session: AsyncSession, incident: Incident) -> list[str] | None:
    """The page of the incident's Alertmanager group (one PagerDuty incident per group)."""
    if incident.page_key is None:
        return None
    group = await session.get(PageGroup, incident.page_key)
    if group is None:
        return [f"Group page {incident.page_key[:12]}: nothing decided for it yet."]
    lines = [
        f"Group page {group.key[:12]} (receiver {group.receiver}): PagerDuty {group.pd_state}, "
        f"priority {group.pd_priority or '-'}, {group.pd_count} incident(s) counted, "
        f"episode {group.episode}, Slack {group.slack_state}."
    ]
    if group.held_at is not None:
        lines.append(f"Held by the storm budget since {group.held_at:%Y-%m-%d %H:%M:%S %Z}.")
    if group.hold_open_until is not None:
        lines.append(f"Flapping: kept open until {group.hold_open_until:%Y-%m-%d %H:%M:%S %Z}.")
    if group.due_since is not None:
        lines.append(
            f"A PagerDuty call owed since {group.due_since:%Y-%m-%d %H:%M:%S %Z} "
            f"({group.attempts} attempt(s), last error: {group.last_error or '-'})."
        )
    return lines
