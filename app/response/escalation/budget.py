"""The storm budget: at most PAGE_BUDGET new PagerDuty incidents per window, for the whole
service. One row in PostgreSQL, spent by a single conditional UPDATE, so every replica
shares it and two of them can never both take the last unit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TAKE = text(
    """
    INSERT INTO page_budget AS b (id, window_start, used)
    SELECT 1, :now, 1
    -- P0 never waits behind P1/P2: a unit goes to a lower priority only when no group of a
    -- higher one is held back waiting for it.
    WHERE NOT EXISTS (SELECT 1 FROM page_groups h
                      WHERE h.held_at IS NOT NULL AND h.pd_state = 'idle' AND h.key <> :key
                        AND h.kind = 'group' AND h.pd_priority < :priority)
    ON CONFLICT (id) DO UPDATE
    SET window_start = CASE WHEN b.window_start IS NULL OR b.window_start + :window <= :now
                            THEN :now ELSE b.window_start END,
        used = CASE WHEN b.window_start IS NULL OR b.window_start + :window <= :now
                    THEN 1 ELSE b.used + 1 END
    WHERE b.window_start IS NULL OR b.window_start + :window <= :now OR b.used < :budget
    RETURNING b.used
    """
)
_STATE = text("SELECT window_start, used FROM page_budget WHERE id = 1")


async def take(
    session: AsyncSession, key: str, priority: str, now: datetime, budget: int, window: float
) -> bool:
    """Spend one unit for this group's new page; False when the window's budget is spent."""
    used = await session.scalar(
        _TAKE,
        {
            "now": now,
            "window": timedelta(seconds=window),
            "budget": budget,
            "key": key,
            "priority": priority,
        },
    )
    return used is not None


async def window(
    session: AsyncSession, budget: int, window_seconds: float, now: datetime
) -> tuple[bool, datetime | None]:
    """(room left now, when the current window closes)."""
    row = (await session.execute(_STATE)).one_or_none()
    if row is None or row.window_start is None:
        return True, None
    closes = row.window_start + timedelta(seconds=window_seconds)
    return closes <= now or row.used < budget, closes
