"""Retention of database rows: what is older than its retention goes, a small batch at a time.

Each batch is one short transaction: `DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … ORDER BY
<age> LIMIT n FOR UPDATE SKIP LOCKED))`, oldest first on an index of the age column. Replicas
running the job at once skip each other's rows instead of waiting; a pass stops after a bounded
number of batches, so the webhook's writes never queue behind a long delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class RowRule:
    """Rows of `table` whose `column` is older than the retention in `setting` (days)."""

    kind: str
    table: str
    column: str
    setting: str
    where: str = "TRUE"  # a constant extra condition (never user input)


ROW_RULES: tuple[RowRule, ...] = (
    RowRule(
        "timeline_repeated",
        "incident_events",
        "at",
        "RETENTION_TIMELINE_REPEATED_DAYS",
        "kind = 'repeated'",
    ),
    RowRule("ignored_alerts", "ignored_alerts", "received_at", "RETENTION_IGNORED_ALERTS_DAYS"),
    RowRule(
        "delivery_attempts", "incident_delivery_attempts", "at", "RETENTION_DELIVERY_ATTEMPTS_DAYS"
    ),
    RowRule("push_receipts", "push_send_receipts", "asof", "RETENTION_PUSH_RECEIPTS_DAYS"),
    RowRule("page_calls", "page_calls", "at", "RETENTION_PAGE_CALLS_DAYS"),
)


def _statement(rule: RowRule) -> str:
    return (
        f"DELETE FROM {rule.table} WHERE ctid = ANY(ARRAY("  # constant names  # nosec B608
        f"SELECT ctid FROM {rule.table} WHERE {rule.column} < :cutoff AND ({rule.where}) "
        f"ORDER BY {rule.column} LIMIT :limit FOR UPDATE SKIP LOCKED))"
    )


async def delete_batch(engine: AsyncEngine, rule: RowRule, cutoff: datetime, limit: int) -> int:
    """Delete at most `limit` of the oldest expired rows in one transaction; how many went."""
    async with engine.begin() as conn:
        result = await conn.execute(text(_statement(rule)), {"cutoff": cutoff, "limit": limit})
    return int(result.rowcount or 0)


async def expire_rows(
    engine: AsyncEngine, rule: RowRule, cutoff: datetime, batch: int, max_batches: int
) -> int:
    """Batches until one comes back short or `max_batches` ran; the rest waits for the next pass."""
    deleted = 0
    for _ in range(max_batches):
        count = await delete_batch(engine, rule, cutoff, batch)
        deleted += count
        if count < batch:
            break
    return deleted
