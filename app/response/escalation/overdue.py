"""A page PagerDuty has not taken for PAGE_OVERDUE_SECONDS is made visible, once: a timeline
entry on its incidents, one Slack message and one Telegram push (the other channels), and
the `pages_overdue` gauge. The page itself keeps being retried; /ready is not affected."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from app.core.http import request_with_retries
from app.incidents.models import ACTIVE_STATUSES, Incident
from app.push.queue import enqueue_message
from app.push.schemas import PushType
from app.response.context import PipelineContext
from app.response.escalation import groups, ledger, slack
from app.response.escalation.step import ONE_TRY
from app.response.models import PageGroup

log = logging.getLogger(__name__)


async def notice_overdue(deps: PipelineContext) -> int:
    """Claim and send the notice of each newly overdue page (one per page, any replica)."""
    s = deps.settings
    now = deps.clock.now()
    async with deps.sessionmaker() as session, session.begin():
        rows = list(
            await session.scalars(
                update(PageGroup)
                .where(
                    PageGroup.pd_state == "triggering",
                    PageGroup.due_since <= now - timedelta(seconds=s.PAGE_OVERDUE_SECONDS),
                    PageGroup.overdue_notice_at.is_(None),
                )
                .values(overdue_notice_at=now)
                .returning(PageGroup)
            )
        )
    for g in rows:
        await _notice(deps, g)
    return len(rows)


async def _notice(deps: PipelineContext, g: PageGroup) -> None:
    s = deps.settings
    now = deps.clock.now()
    async with deps.sessionmaker() as session:
        f = await groups.facts(session, g.key)
    assert g.due_since is not None  # type narrowing  # nosec B101
    what = ", ".join(name for _, name, _, _ in f.alerts[:3]) or g.group_key
    text = (
        f"PagerDuty unreachable: page for {what} ({f.paging} incident(s), "
        f"{f.priority or '-'}) pending since {g.due_since.isoformat()}; "
        f"last error: {g.last_error or '-'}. Still retrying."
    )
    log.error("page overdue", extra={"page_key": g.key, "due_since": g.due_since.isoformat()})
    result = "skipped"
    attempt = None
    if s.SLACK_WEBHOOK_URL is not None:
        outcome = await request_with_retries(
            deps.slack,
            "POST",
            s.SLACK_WEBHOOK_URL.get_secret_value(),
            policy=ONE_TRY,
            json=slack.overdue(text, g, f, s.PUBLIC_BASE_URL),
        )
        result, attempt = ("delivered" if outcome.ok else "failed"), outcome.last
    async with deps.sessionmaker() as session, session.begin():
        ids = list(
            await session.scalars(
                select(Incident.id).where(
                    Incident.page_key == g.key,
                    Incident.status.in_(ACTIVE_STATUSES),
                    Incident.page_decision.in_(groups.PAGING),
                )
            )
        )
        await ledger.timeline(
            session, ids, "page_overdue", text, {"due_since": g.due_since.isoformat()}
        )
        ledger.record_call(
            session, g.key, g.episode, "slack", "overdue", result, now, attempt, {"text": text}
        )
        await enqueue_message(
            session,
            push_type=PushType.ALERT,
            title=f"PagerDuty unreachable: page pending since {g.due_since.isoformat()}",
            content=text,
            source_ref=f"page:{g.key}",
            dedup_key=f"page-overdue:{g.key}:{g.episode}",
        )
