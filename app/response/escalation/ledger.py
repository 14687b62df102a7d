"""Every paging decision on the record: the incident's decision, a delivery-ledger row, a
timeline entry and a metric, written together; every call made for a group, audited.

An operator answers "why was I paged, or not?" from the incident: `page_decision`, its
`incident_deliveries` row (channel `pagerduty`, event `page`: pending, paged, merged, held,
damped, with a note) and the timeline (`page_paged`, `page_merged`, `page_held`,
`page_damped`, `page_overdue`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.http import Attempt
from app.core.redact import redact, redact_value
from app.incidents.models import IncidentEvent
from app.response.metrics import ESCALATIONS, PAGE_CALLS, PAGE_DECISIONS
from app.response.models import PageCall

DECISIONS = ("pending", "paged", "merged", "held", "damped", "skipped")

_DECIDE = """
    WITH locked AS (
      -- Locked in fingerprint order, as the webhook's upsert locks them: no deadlock.
      SELECT i.id FROM incidents i
      WHERE {which}
        AND (CAST(:only_from AS text[]) IS NULL
             OR i.page_decision = ANY(CAST(:only_from AS text[])))
      ORDER BY i.fingerprint, i.id
      FOR UPDATE
    ),
    marked AS (
      UPDATE incidents i SET page_decision = :decision
      FROM locked WHERE i.id = locked.id
      RETURNING i.id
    ),
    ledger AS (
      INSERT INTO incident_deliveries AS d (incident_id, channel, event, generation, state,
                                            retryable, attempts, note, created_at, updated_at)
      SELECT m.id, :channel, :event,
             (SELECT count(*) FROM incident_events r WHERE r.incident_id = m.id AND r.kind = 'reopen'),
             :decision, false, 0, :note, now(), now()
      FROM marked m
      ON CONFLICT (incident_id, channel, event, generation)
      DO UPDATE SET state = EXCLUDED.state, note = EXCLUDED.note, updated_at = now()
      RETURNING d.incident_id
    )
    SELECT id FROM marked
"""
_BY_ID = text(_DECIDE.format(which="i.id = ANY(CAST(:ids AS text[]))"))
# A group's active incidents (page_key index), however many: a storm holds hundreds.
_BY_GROUP = text(
    _DECIDE.format(
        which="i.page_key = CAST(:key AS varchar) AND i.status IN ('open', 'investigating')"
    )
)


async def decide(
    session: AsyncSession,
    incident_ids: list[str] | None,
    decision: str,
    note: str,
    *,
    group: str | None = None,
    data: dict[str, Any] | None = None,
    only_from: tuple[str, ...] | None = None,
) -> list[str]:
    """Record one decision for these incidents, or for the active incidents of `group`
    (those whose decision is still one of `only_from`, when given)."""
    if group is None and not incident_ids:
        return []
    rows = await session.execute(
        _BY_GROUP if group is not None else _BY_ID,
        {
            "ids": incident_ids,
            "key": group,
            "decision": decision,
            "note": note,
            "only_from": list(only_from) if only_from else None,
            "channel": "pagerduty",
            "event": "page",
        },
    )
    decided = [r.id for r in rows]
    await timeline(session, decided, f"page_{decision}", note, data)
    if decided:
        PAGE_DECISIONS.labels(decision).inc(len(decided))
    return decided


async def timeline(
    session: AsyncSession,
    incident_ids: list[str],
    kind: str,
    note: str,
    data: dict[str, Any] | None = None,
) -> None:
    """One timeline entry per incident, in one statement."""
    if not incident_ids:
        return
    clean_note, clean_data = redact(note), redact_value(data) if data else None
    await session.execute(
        insert(IncidentEvent),
        [
            {
                "incident_id": i,
                "kind": kind,
                "actor": "paging",
                "note": clean_note,
                "data": clean_data,
            }
            for i in incident_ids
        ],
    )


async def want_slack(session: AsyncSession, incident_id: str, note: str) -> None:
    """The incident asked for Slack: its group posts once when it opens (ledger row)."""
    await session.execute(
        text(
            """
            INSERT INTO incident_deliveries (incident_id, channel, event, generation, state,
                                             retryable, attempts, note, created_at, updated_at)
            VALUES (CAST(:id AS varchar), 'slack', 'group',
                    (SELECT count(*) FROM incident_events r
                     WHERE r.incident_id = CAST(:id AS varchar) AND r.kind = 'reopen'),
                    'wanted', false, 0, :note, now(), now())
            ON CONFLICT (incident_id, channel, event, generation) DO NOTHING
            """
        ),
        {"id": incident_id, "note": note},
    )


def record_call(
    session: AsyncSession,
    key: str,
    episode: int,
    channel: str,
    event: str,
    result: str,
    now: datetime,
    attempt: Attempt | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audited call (or a skipped one) in the group's ledger; counted in the metrics."""
    session.add(
        PageCall(
            page_key=key,
            episode=episode,
            channel=channel,
            event=event,
            result=result,
            http_status=attempt.status if attempt else None,
            error_class=attempt.error_class if attempt else None,
            error=redact(attempt.error)[:1000] if attempt and attempt.error else None,
            detail=redact_value(detail) if detail else None,
            at=now,
        )
    )
    PAGE_CALLS.labels(channel, event, result).inc()
    if result in ("delivered", "failed"):
        ESCALATIONS.labels(channel, result).inc()
