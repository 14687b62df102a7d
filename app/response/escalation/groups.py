"""Page groups: one row per Alertmanager group (the group's PagerDuty dedup_key is its key).

What a group wants (its facts) is read from its incidents; what PagerDuty and Slack were
told is on the row. Exactly one worker of any replica holds a group's claim while it calls
a peer for it: the claim is a lease in the database (`now()` of PostgreSQL), so a worker
that dies mid-call leaves a claim that expires, and the sweeper re-drives the group.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.response.models import PageGroup

STORM_RECEIVER = "ops-backend"
STORM_GROUP = "alert-storm"
STORM_KEY = hashlib.sha256(f"{STORM_RECEIVER}\x00{STORM_GROUP}".encode()).hexdigest()
# Decisions under which an incident wants its group paged (damped ones only keep it open).
PAGING = ("pending", "paged", "merged", "held")
PRIORITY_RANK = {"P0": 0, "P1": 1, "P2": 2}


@dataclass(frozen=True)
class Facts:
    """What a group's active incidents ask for, read in one statement."""

    paging: int  # active incidents that want the page
    pending: int  # of those, not yet counted in a page (decided while it was being sent)
    damped: int  # active flapping incidents (they keep an open page open)
    priority: str | None  # highest priority among those that want the page
    acked: bool  # one of them was acknowledged through the API
    notifying: int  # active incidents that asked for Slack
    damped_resolved_at: datetime | None  # the flapping alert's latest resolution
    resolved_at: datetime | None  # the latest resolution of an incident that paged
    alerts: list[tuple[str, str, str | None, str | None]]  # first (id, name, priority, summary)
    seen: str  # active:acknowledged counts; the sweeper looks again when they change


_FACTS = text(
    """
    SELECT count(*) FILTER (WHERE a.active AND i.page_decision = ANY(CAST(:paging AS text[])))
             AS paging,
           count(*) FILTER (WHERE a.active AND i.page_decision = 'damped') AS damped,
           count(*) FILTER (WHERE a.active AND i.page_decision = 'pending') AS pending,
           min(i.priority::text) FILTER (
               WHERE a.active AND i.page_decision = ANY(CAST(:paging AS text[]))) AS priority,
           coalesce(bool_or(i.acknowledged_at IS NOT NULL) FILTER (
               WHERE a.active AND i.page_decision IS NOT NULL), false) AS acked,
           count(*) FILTER (WHERE a.active AND EXISTS (
               SELECT 1 FROM incident_deliveries d
               WHERE d.incident_id = i.id AND d.channel = 'slack' AND d.event = 'group'))
             AS notifying,
           max(i.resolved_at) FILTER (WHERE i.page_decision = 'damped') AS damped_resolved_at,
           max(i.resolved_at) FILTER (WHERE i.page_decision IS NOT NULL) AS resolved_at,
           count(*) FILTER (WHERE a.active) || ':' ||
           count(*) FILTER (WHERE a.active AND i.acknowledged_at IS NOT NULL) AS seen
    FROM incidents i
    CROSS JOIN LATERAL (SELECT i.status IN ('open', 'investigating') AS active) a
    WHERE i.page_key = :key
    """
)
_ALERTS = text(
    """
    SELECT i.id, i.alert_name, i.priority::text AS priority, i.summary FROM incidents i
    WHERE i.page_key = :key AND i.status IN ('open', 'investigating')
      AND i.page_decision IS NOT NULL
    ORDER BY i.priority, i.created_at, i.id
    LIMIT 5
    """
)
_STORM_FACTS = text(
    """
    SELECT count(DISTINCT g.key) AS groups, count(i.id) AS incidents,
           min(g.pd_priority) AS priority
    FROM page_groups g JOIN incidents i ON i.page_key = g.key
    WHERE g.held_at IS NOT NULL AND i.status IN ('open', 'investigating')
      AND i.page_decision = 'held'
    """
)
_STORM_TOP = text(
    """
    SELECT i.alert_name, count(*) AS n FROM page_groups g JOIN incidents i ON i.page_key = g.key
    WHERE g.held_at IS NOT NULL AND i.status IN ('open', 'investigating')
      AND i.page_decision = 'held'
    GROUP BY i.alert_name ORDER BY n DESC, i.alert_name LIMIT 5
    """
)


async def facts(session: AsyncSession, key: str) -> Facts:
    if key == STORM_KEY:
        return await storm_facts(session)
    row = (await session.execute(_FACTS, {"key": key, "paging": list(PAGING)})).one()
    alerts = [
        (r.id, r.alert_name, r.priority, r.summary)
        for r in await session.execute(_ALERTS, {"key": key})
    ]
    return Facts(
        paging=row.paging,
        pending=row.pending,
        damped=row.damped,
        priority=row.priority,
        acked=row.acked,
        notifying=row.notifying,
        damped_resolved_at=row.damped_resolved_at,
        resolved_at=row.resolved_at,
        alerts=alerts,
        seen=row.seen,
    )


async def storm_facts(session: AsyncSession) -> Facts:
    """The storm page wants to be open while any group is held back by the budget."""
    row = (await session.execute(_STORM_FACTS)).one()
    top: list[tuple[str, str, str | None, str | None]] = [
        (str(r.n), str(r.alert_name), None, None) for r in await session.execute(_STORM_TOP)
    ]
    return Facts(
        paging=row.groups,
        pending=0,
        damped=0,
        priority="P0" if row.groups else None,
        acked=False,
        notifying=row.groups,
        damped_resolved_at=None,
        resolved_at=None,
        alerts=top,
        seen=f"{row.groups}:{row.incidents}",
    )


async def storm_incidents(session: AsyncSession) -> int:
    return int((await session.execute(_STORM_FACTS)).one().incidents)


async def ensure(session: AsyncSession, key: str, receiver: str, group_key: str) -> None:
    """Create the group's row if it is new (any replica may; the key makes it one row)."""
    await session.execute(
        insert(PageGroup)
        .values(
            key=key,
            receiver=receiver,
            group_key=group_key,
            kind="storm" if key == STORM_KEY else "group",
        )
        .on_conflict_do_nothing(index_elements=[PageGroup.key])
    )


def lease(seconds: float) -> object:
    """now() + seconds, in the database's clock (replicas agree on expiry)."""
    return func.now() + text("make_interval(secs => :lease)").bindparams(lease=seconds)


async def claim(
    session: AsyncSession, key: str, owner: str, lease_seconds: float, now: datetime
) -> PageGroup | None:
    """The group's row under our claim (in the caller's transaction), or None while another
    worker's claim is live."""
    row: PageGroup | None = await session.scalar(
        update(PageGroup)
        .where(
            PageGroup.key == key,
            (PageGroup.lease_until.is_(None)) | (PageGroup.lease_until < func.now()),
        )
        .values(owner=owner, lease_until=lease(lease_seconds))
        .returning(PageGroup)
    )
    return row


def _seen_sql(key: str) -> str:
    """The `seen` value (active:acknowledged) of the group whose key is the SQL `key`.

    One text for the pass that records it and the sweeper that compares it (they must agree).
    """
    return (
        "(SELECT"  # `key` is a bind name or a column, never a value  # nosec B608
        " count(*) FILTER (WHERE i.status IN ('open', 'investigating')) || ':' ||"
        " count(*) FILTER (WHERE i.status IN ('open', 'investigating')"
        " AND i.acknowledged_at IS NOT NULL)"
        f" FROM incidents i WHERE i.page_key = {key})"
    )


_SIGNATURE = text(f"SELECT {_seen_sql(':key')}")


async def signature(session: AsyncSession, key: str) -> str:
    """The group's `seen` value now (what a pass acted on, compared to spot a change)."""
    if key == STORM_KEY:
        return (await storm_facts(session)).seen
    return str(await session.scalar(_SIGNATURE, {"key": key}))


async def active_ids(session: AsyncSession, key: str) -> list[str]:
    """Active incidents of the group that took part in its page."""
    rows = await session.execute(
        text(
            """SELECT i.id FROM incidents i WHERE i.page_key = :key
               AND i.status IN ('open', 'investigating') AND i.page_decision IS NOT NULL"""
        ),
        {"key": key},
    )
    return [r.id for r in rows]


async def release(
    sm: async_sessionmaker[AsyncSession], key: str, owner: str, **values: object
) -> bool:
    """Write the outcome and let go of the claim; False when the claim was lost meanwhile."""
    async with sm() as session, session.begin():
        done = await session.scalar(
            update(PageGroup)
            .where(PageGroup.key == key, PageGroup.owner == owner)
            .values(owner=None, lease_until=None, **values)
            .returning(PageGroup.key)
        )
        return done is not None


async def due(
    sm: async_sessionmaker[AsyncSession], now: datetime, budget_open: bool, limit: int
) -> list[tuple[str, bool]]:
    """Groups worth a look now, highest priority first (P0 never waits behind P1/P2).

    Unclaimed (or whose claim expired), past their backoff, and: woken (a page asked, a
    timer), a trigger owed, held while the budget has room, or open with a changed incident.
    """
    changed = text(
        "page_groups.kind = 'storm' OR page_groups.seen IS DISTINCT FROM "
        + _seen_sql("page_groups.key")
    )
    open_ = (PageGroup.pd_state != "idle") | (PageGroup.slack_state != "idle")
    query = (
        select(PageGroup.key, PageGroup.held_at.is_not(None) & (PageGroup.pd_state == "idle"))
        .where(
            (PageGroup.lease_until.is_(None)) | (PageGroup.lease_until < func.now()),
            (PageGroup.next_attempt_at.is_(None)) | (PageGroup.next_attempt_at <= now),
            (PageGroup.wake_at <= now)
            | (PageGroup.next_attempt_at <= now)  # a retry is due
            | (PageGroup.pd_state == "triggering")
            | (PageGroup.held_at.is_not(None) if budget_open else text("false"))
            | (open_ & changed),
        )
        .order_by(
            PageGroup.pd_priority.asc().nulls_last(),
            PageGroup.held_at.asc().nulls_last(),
            PageGroup.created_at,
        )
        .limit(limit)
    )
    async with sm() as session:
        return [(key, bool(held)) for key, held in await session.execute(query)]
