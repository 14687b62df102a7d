"""Paging decisions: one page per Alertmanager group, a storm budget, flap damping.

The pipeline asks `page(incident)` (P0 at once, P1 when remediation did not fix it) and
`notify(incident)`; this module decides (damped, merged into the group's open page, held
by the storm budget, or owed) and records the decision; `reconcile` delivers it, now and,
while it is owed, from every replica's sweeper. Nothing here raises for a peer's failure:
a page owed is owed until it is delivered or its incidents are over.
"""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

from sqlalchemy import func, select, update

from app.incidents.alertmanager import page_key
from app.incidents.models import ACTIVE_STATUSES, Incident
from app.response.context import PipelineContext
from app.response.escalation import budget, groups, ledger
from app.response.escalation.overdue import notice_overdue
from app.response.escalation.reconcile import reconcile
from app.response.models import PageGroup

log = logging.getLogger(__name__)


class PageResult(enum.StrEnum):
    """What became of a request to page for an incident."""

    PAGED = "paged"  # its group's PagerDuty incident is open (this incident is in it)
    MERGED = "merged"  # its group was already paged: the page counts it (no new page)
    HELD = "held"  # held back by the storm budget; paged when the window closes
    DAMPED = "damped"  # its alert is flapping: linked to the previous incident, no page
    PENDING = "pending"  # owed to PagerDuty, which has not answered yet: the sweeper retries
    SKIPPED = "skipped"  # PagerDuty is not configured
    INACTIVE = "inactive"  # the incident is over: nothing to page


def _group_fields(incident: Incident) -> tuple[str, str, str]:
    """(key, receiver, group key); an incident from before groups is a group of its own."""
    receiver = incident.receiver or "api"
    group_key = incident.group_key or f"incident:{incident.id}"
    return incident.page_key or page_key(receiver, group_key), receiver, group_key


async def _group_of(incident: Incident) -> tuple[str, str, str]:
    """The incident's group, recorded on it (in the caller's transaction) if it had none."""
    key, receiver, group_key = _group_fields(incident)
    if incident.page_key is None:
        incident.receiver, incident.group_key, incident.page_key = receiver, group_key, key
    return key, receiver, group_key


async def _ensure_group(deps: PipelineContext, incident_id: str) -> bool:
    """Create the incident's group row if it is new, in a transaction of its own; False when
    the incident is gone. Never under the incident's lock: the insert waits for a worker that
    holds the group row, and that worker locks the group's incidents next (lock order: a
    group before its incidents), so waiting while holding an incident deadlocks."""
    async with deps.sessionmaker() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            return False
        key, receiver, group_key = _group_fields(incident)
    async with deps.sessionmaker() as session, session.begin():
        await groups.ensure(session, key, receiver, group_key)
    return True


async def _flapping(deps: PipelineContext, session: object, incident: Incident) -> int:
    """How many incidents this alert opened within FLAP_WINDOW_SECONDS (itself included)."""
    if not incident.fingerprint:
        return 1
    since = deps.clock.now() - timedelta(seconds=deps.settings.FLAP_WINDOW_SECONDS)
    count = await session.scalar(  # type: ignore[attr-defined]
        select(func.count())
        .select_from(Incident)
        .where(Incident.fingerprint == incident.fingerprint, Incident.created_at > since)
    )
    return int(count or 0)


async def page(deps: PipelineContext, incident_id: str, owner: str) -> PageResult:
    """Decide and record how this incident pages, then deliver what its group owes."""
    s = deps.settings
    if not await _ensure_group(deps, incident_id):
        return PageResult.INACTIVE
    async with deps.sessionmaker() as session, session.begin():
        incident = await session.get(Incident, incident_id, with_for_update=True)
        if incident is None or incident.status not in ACTIVE_STATUSES:
            return PageResult.INACTIVE
        key, _, _ = await _group_of(incident)
        if incident.page_decision is None:
            decision, note = await _decide(deps, session, incident, key)
            await ledger.decide(session, [incident_id], decision, note)
    await _wake(deps, key)  # its own transaction: a group lock is never taken under an incident's
    if s.PAGERDUTY_ROUTING_KEY is not None:
        await reconcile(deps, key, owner)
    async with deps.sessionmaker() as session:
        decided = await session.scalar(
            select(Incident.page_decision).where(Incident.id == incident_id)
        )
    result = PageResult(decided or "pending")
    if result is PageResult.HELD:
        await reconcile(deps, groups.STORM_KEY, owner)  # the storm page goes out at once
    return result


async def _decide(
    deps: PipelineContext, session: object, incident: Incident, key: str
) -> tuple[str, str]:
    s = deps.settings
    opened = await _flapping(deps, session, incident)
    if opened >= s.FLAP_THRESHOLD:
        previous = incident.previous_incident_id or "none"
        return "damped", (
            f"flapping: this alert opened {opened} incidents within "
            f"{s.FLAP_WINDOW_SECONDS:.0f} s (threshold {s.FLAP_THRESHOLD}); no new page, "
            f"previous incident {previous}; its group's page stays open until the alert has "
            f"stayed resolved for {s.FLAP_WINDOW_SECONDS:.0f} s"
        )
    if s.PAGERDUTY_ROUTING_KEY is None:
        return "skipped", "PagerDuty is not configured (PAGERDUTY_ROUTING_KEY unset)"
    # Read, not locked (lock order: a group before its incidents). A group that opens meanwhile
    # turns this `pending` into `merged` on its next pass.
    g = await session.get(PageGroup, key)  # type: ignore[attr-defined]
    assert g is not None  # type narrowing  # nosec B101
    if g.pd_state != "idle":
        return "merged", (
            f"merged into its group's open page {key[:12]}… (episode {g.episode}): "
            "PagerDuty gets an update with the count, not a new incident"
        )
    if g.held_at is not None:
        return "held", "held by the storm budget with the rest of its group"
    return "pending", "its group's page is owed to PagerDuty"


async def _wake(deps: PipelineContext, key: str) -> None:
    async with deps.sessionmaker() as session, session.begin():
        await session.execute(
            update(PageGroup).where(PageGroup.key == key).values(wake_at=deps.clock.now())
        )


class NotifyResult(enum.StrEnum):
    """What became of a request to tell Slack about an incident."""

    POSTED = "posted"  # its group's Slack message is out (once per group, not per alert)
    PENDING = "pending"  # owed: Slack failed, or the group waits for its held page
    SKIPPED = "skipped"  # Slack is not configured
    INACTIVE = "inactive"  # over before Slack heard of it (e.g. fixed by remediation)


async def notify(deps: PipelineContext, incident_id: str, owner: str) -> NotifyResult:
    """Ask for Slack: the group posts once when it opens and once when it resolves."""
    if deps.settings.SLACK_WEBHOOK_URL is None:
        return NotifyResult.SKIPPED
    if not await _ensure_group(deps, incident_id):
        return NotifyResult.INACTIVE
    async with deps.sessionmaker() as session, session.begin():
        incident = await session.get(Incident, incident_id, with_for_update=True)
        if incident is None or incident.status not in ACTIVE_STATUSES:
            return NotifyResult.INACTIVE
        key, _, _ = await _group_of(incident)
        await ledger.want_slack(session, incident_id, "Slack: one message per group")
    await _wake(deps, key)
    await reconcile(deps, key, owner)
    async with deps.sessionmaker() as session:
        state = await session.scalar(select(PageGroup.slack_state).where(PageGroup.key == key))
    return NotifyResult.POSTED if state == "opened" else NotifyResult.PENDING


async def changed(deps: PipelineContext, incident_id: str, owner: str) -> None:
    """An incident's status changed (e.g. remediation resolved it): look at its group now."""
    async with deps.sessionmaker() as session:
        key = await session.scalar(select(Incident.page_key).where(Incident.id == incident_id))
    if key is not None:
        await reconcile(deps, key, owner)


async def sweep(deps: PipelineContext, owner: str, limit: int = 200) -> int:
    """Every replica's sweeper: re-drive due groups (a dead worker's expired claim included),
    highest priority first, then send the overdue notices. Returns groups looked at."""
    s = deps.settings
    now = deps.clock.now()
    async with deps.sessionmaker() as session:
        room, _ = await budget.window(session, s.PAGE_BUDGET, s.PAGE_BUDGET_WINDOW_SECONDS, now)
    keys = await groups.due(deps.sessionmaker, now, room, limit)
    for key, held in keys:
        if held:  # once the window's budget is spent, the held rest wait for the next one
            if not room:
                continue
            async with deps.sessionmaker() as session:
                room, _ = await budget.window(
                    session, s.PAGE_BUDGET, s.PAGE_BUDGET_WINDOW_SECONDS, now
                )
            if not room:
                continue
        await reconcile(deps, key, owner)
    await notice_overdue(deps)
    return len(keys)
