"""Metrics of the response pipeline: remediation, escalation, diagnostics."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock

REMEDIATION_ATTEMPTS = Counter(
    "remediation_attempts_total",
    "Remediation actions by action and result (success, failure, dry_run, blocked, cooldown, "
    "skipped, noop).",
    ["action", "result"],
)
# The spec's dashboard greps this exact name. Computed from the database at scrape, so every
# replica reports the same fleet-wide value ("max" merges identical values across workers).
REMEDIATION_SUCCESS_RATE = Gauge(
    "remediation_success_rate",
    "Share of executed (non-dry-run) remediation actions verified successful; NaN before any.",
    multiprocess_mode="max",
)
ESCALATIONS = Counter(
    "escalations_total",
    "Escalation deliveries by channel and result (delivered, failed, skipped, duplicate).",
    ["channel", "result"],
)
PAGE_DECISIONS = Counter(
    "page_decisions_total",
    "Paging decisions per incident: paged, merged (into its group's page), held (storm "
    "budget), damped (flapping), pending (owed), skipped (PagerDuty not configured).",
    ["decision"],
)
PAGE_CALLS = Counter(
    "page_calls_total",
    "Calls made for page groups by channel, event (trigger, update, escalate, acknowledge, "
    "resolve, opened, overdue) and result (delivered, failed, gave_up, skipped).",
    ["channel", "event", "result"],
)
PAGES_HELD = Gauge(
    "pages_held",
    "Groups held back by the storm budget (read from the database at scrape).",
    multiprocess_mode="max",
)
PAGES_OVERDUE = Gauge(
    "pages_overdue",
    "Pages owed to PagerDuty for longer than PAGE_OVERDUE_SECONDS (database, at scrape).",
    multiprocess_mode="max",
)
DIAGNOSTICS_DURATION = Histogram(
    "diagnostics_duration_seconds",
    "Time to collect diagnostics, per provider and overall (provider=all).",
    ["provider"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60),
)

_SUCCESS_RATE_SQL = text(
    """
    SELECT count(*) FILTER (WHERE (a->>'success')::boolean) AS ok, count(*) AS total
    FROM incidents, jsonb_array_elements(remediation_actions) AS a
    WHERE jsonb_typeof(remediation_actions) = 'array'
      AND (a->>'dry_run') = 'false' AND jsonb_typeof(a->'success') = 'boolean'
      AND (a->>'result') IN ('success', 'failure')
    """
)


async def refresh_success_rate(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Scrape hook: success rate over every executed action recorded on incidents."""
    async with sessionmaker() as session:
        ok, total = (await session.execute(_SUCCESS_RATE_SQL)).one()
    REMEDIATION_SUCCESS_RATE.set(ok / total if total else math.nan)


_PAGES_SQL = text(
    """
    SELECT count(*) FILTER (WHERE held_at IS NOT NULL AND pd_state = 'idle') AS held,
           count(*) FILTER (WHERE pd_state = 'triggering' AND due_since <= :overdue) AS overdue
    FROM page_groups
    """
)


def page_gauges_hook(
    clock: Clock, overdue_seconds: float
) -> Callable[[async_sessionmaker[AsyncSession]], Awaitable[None]]:
    """Scrape hook: held and overdue pages, fleet-wide from PostgreSQL."""

    async def refresh(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        overdue = clock.now() - timedelta(seconds=overdue_seconds)
        async with sessionmaker() as session:
            held, late = (await session.execute(_PAGES_SQL, {"overdue": overdue})).one()
        PAGES_HELD.set(held)
        PAGES_OVERDUE.set(late)

    return refresh
