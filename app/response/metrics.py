"""Metrics of the response pipeline: remediation, escalation, diagnostics."""

from __future__ import annotations

import math

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
