"""Small read-only queries about pages, for the ops summary's checks and the console.

`overdue_pages(session, now, overdue_seconds)`: pages PagerDuty has not taken for that long.
`held_pages(session)`: groups the storm budget holds back. Both newest problem first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.response.models import PageGroup


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
