"""Small read-only queries about pages, for the ops summary's checks and the console.

`overdue_pages(session, now, overdue_seconds)`: pages PagerDuty has not taken for that long.
`held_pages(session)`: groups the storm budget holds back. Both newest problem first.
`group_calls(session, key)`: a group's latest PagerDuty/Slack calls (its `page_calls`).
`failing_calls(session)`: groups whose latest call to a peer failed, newest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.response.models import PageCall, PageGroup


class PageStatus(BaseModel):
    """One group's page as an operator needs it."""

    page_key: str = Field(description="the group's PagerDuty dedup_key")
    receiver: str
    group_key: str
    kind: str
    pd_state: str
    priority: str | None
    episode: int
    incidents: int = Field(description="active incidents in the group")
    alert_names: list[str]
    incident_ids: list[str] = Field(description="its active incidents (the first 20)")
    due_since: datetime | None = Field(description="a PagerDuty call owed since then")
    held_at: datetime | None
    attempts: int
    last_error: str | None


_COUNTS = text(
    """
    SELECT i.page_key, count(*) AS n, array_agg(DISTINCT i.alert_name) AS names,
           (array_agg(i.id ORDER BY i.created_at, i.id))[1:20] AS ids
    FROM incidents i
    WHERE i.page_key = ANY(CAST(:keys AS text[])) AND i.status IN ('open', 'investigating')
    GROUP BY i.page_key
    """
)


async def _list(session: AsyncSession, query: Select[PageGroup]) -> list[PageStatus]:
    found = list(await session.scalars(query))
    counts = {
        row.page_key: (row.n, row.names, row.ids)
        for row in await session.execute(_COUNTS, {"keys": [g.key for g in found]})
    }
    out = []
    for g in found:
        n, names, ids = counts.get(g.key, (0, [], []))
        out.append(
            PageStatus(
                page_key=g.key,
                receiver=g.receiver,
                group_key=g.group_key,
                kind=g.kind,
                pd_state=g.pd_state,
                priority=g.pd_priority,
                episode=g.episode,
                incidents=n,
                alert_names=sorted(names)[:10],
                incident_ids=list(ids),
                due_since=g.due_since,
                held_at=g.held_at,
                attempts=g.attempts,
                last_error=g.last_error,
            )
        )
    return out


async def overdue_pages(
    session: AsyncSession, now: datetime, overdue_seconds: float
) -> list[PageStatus]:
    """Pages owed to PagerDuty for at least `overdue_seconds` (PAGE_OVERDUE_SECONDS)."""
    query = (
        select(PageGroup)
        .where(
            PageGroup.pd_state == "triggering",
            PageGroup.due_since <= now - timedelta(seconds=overdue_seconds),
        )
        .order_by(PageGroup.due_since)
    )
    return await _list(session, query)


async def held_pages(session: AsyncSession) -> list[PageStatus]:
    """Groups held back by the storm budget, in the order they will be paged."""
    query = (
        select(PageGroup)
        .where(PageGroup.held_at.is_not(None), PageGroup.pd_state == "idle")
        .order_by(PageGroup.pd_priority.asc().nulls_last(), PageGroup.held_at)
    )
    return await _list(session, query)


async def group_calls(session: AsyncSession, key: str, limit: int = 20) -> list[PageCall]:
    """The group's latest calls (PagerDuty, Slack), oldest of them first."""
    calls = await session.scalars(
        select(PageCall).where(PageCall.page_key == key).order_by(PageCall.id.desc()).limit(limit)
    )
    return list(reversed(list(calls)))


class FailingCall(BaseModel):
    """A group's latest call to one peer, which failed (or gave up): nothing got through since."""

    page_key: str
    channel: str
    event: str
    result: str = Field(description="failed (retried) or gave_up (a follow-up abandoned)")
    http_status: int | None
    error_class: str | None
    at: datetime
    incident_id: str | None = Field(description="the group's most urgent incident, if any")
    alert_name: str | None
    priority: str | None
    incidents: int = Field(description="incidents of the group, of any status")


_FAILING = text(
    """
    SELECT c.page_key, c.channel, c.event, c.result, c.http_status, c.error_class, c.at,
           i.id AS incident_id, i.alert_name, i.priority, coalesce(i.n, 0) AS incidents
    FROM page_calls c
    LEFT JOIN LATERAL (
      SELECT x.id, x.alert_name, x.priority::text AS priority, count(*) OVER () AS n
      FROM incidents x WHERE x.page_key = c.page_key
      ORDER BY x.status IN ('open', 'investigating') DESC, x.priority, x.created_at DESC
      LIMIT 1
    ) i ON true
    WHERE c.result IN ('failed', 'gave_up')
      AND NOT EXISTS (SELECT 1 FROM page_calls later
                      WHERE later.page_key = c.page_key AND later.channel = c.channel
                        AND later.id > c.id)
    ORDER BY c.id DESC
    LIMIT :limit
    """
)


async def failing_calls(session: AsyncSession, limit: int = 20) -> list[FailingCall]:
    """Per group and peer, the latest call when it failed, joined to the group's incidents
    through `page_key`; a group whose retry got through is not listed."""
    rows = await session.execute(_FAILING, {"limit": limit})
    return [FailingCall.model_validate(dict(r._mapping)) for r in rows]
