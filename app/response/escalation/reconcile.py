"""Bring one group's PagerDuty incident and Slack thread in line with its incidents.

Level-triggered: the wanted state is read from the incidents (facts), the told state is on
the group's row, and the difference is sent one call at a time, each result committed
before the next call. Only the worker holding the group's claim calls; a failed call is
retried with capped exponential backoff (`next_attempt_at`): a trigger for as long as the
group wants it, a follow-up (update, acknowledge, resolve) up to PAGE_FOLLOWUP_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.core.http import Attempt
from app.response.context import PipelineContext
from app.response.escalation import budget, groups, ledger, pagerduty, slack
from app.response.escalation.groups import PRIORITY_RANK, STORM_KEY, Facts
from app.response.escalation.step import OPEN, Lost, Step, call_record
from app.response.models import PageGroup

log = logging.getLogger(__name__)


async def _trigger(step: Step, f: Facts, event: str) -> bool:
    """Trigger (event `trigger`) or update (same dedup_key, new count/priority)."""
    s = step.deps.settings
    g = step.g
    if g.key == STORM_KEY:
        async with step.deps.sessionmaker() as session:
            incidents = await groups.storm_incidents(session)
        body = pagerduty.storm_body(s, g.key, f, incidents)
    else:
        body = pagerduty.group_body(s, g, f)
    ok, attempt = await step.call("pagerduty", "trigger", body)
    if not ok:
        await _failed(step, "pagerduty", event, attempt, follow_up=event != "trigger")
        return False
    note = (
        f"paged: PagerDuty incident {g.key[:12]}… (episode {g.episode}), "
        f"{f.paging} incident(s), {f.priority}"
    )
    await step.write(
        {
            "pd_state": "triggered" if g.pd_state in ("triggering", "idle") else g.pd_state,
            "pd_priority": f.priority,
            "pd_count": f.paging,
            "last_call_at": step.now,
            "due_since": None,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": None,
            "held_at": None,
            "overdue_notice_at": None,
        },
        call=call_record(
            "pagerduty", event, "delivered", attempt, priority=f.priority, count=f.paging
        ),
        decision=None if g.key == STORM_KEY else ("paged", note, ("pending", "held")),
    )
    return True


async def _failed(
    step: Step, channel: str, event: str, attempt: Attempt | None, *, follow_up: bool
) -> None:
    """Back off; a follow-up gives up after PAGE_FOLLOWUP_MAX_ATTEMPTS, a trigger never."""
    s = step.deps.settings
    if attempt is None:  # channel not configured: nothing to retry
        await step.write(call=call_record(channel, event, "skipped", None))
        return
    attempts = step.g.attempts + 1
    error = attempt.error or attempt.error_class or "failed"
    if follow_up and attempts >= s.PAGE_FOLLOWUP_MAX_ATTEMPTS:
        note = f"PagerDuty {event} gave up after {attempts} attempts: {error}"
        async with step.deps.sessionmaker() as session, session.begin():
            ids = await groups.active_ids(session, step.g.key)
            await ledger.timeline(session, ids, "page_followup_failed", note)
        log.error("page follow-up gave up", extra={"page_key": step.g.key, "event": event})
        await step.write(
            {
                **_give_up(step.g, event),
                "attempts": 0,
                "next_attempt_at": None,
                "last_error": error,
            },
            call=call_record(channel, event, "gave_up", attempt),
        )
        return
    await step.write(
        {
            "attempts": attempts,
            "next_attempt_at": step.backoff(attempts, attempt),
            "last_error": error,
        },
        call=call_record(channel, event, "failed", attempt),
    )


def _give_up(g: PageGroup, event: str) -> dict[str, Any]:
    if event == "resolve":
        return {"pd_state": "idle", "episode": g.episode + 1, "pd_priority": None, "pd_count": 0}
    if event == "acknowledge":
        return {"pd_state": "acknowledged"}
    return {"last_call_at": g.last_call_at}  # an update: the next change tries again


async def _pagerduty(step: Step, f: Facts) -> None:
    s = step.deps.settings
    g = step.g
    if g.pd_state == "idle":
        if f.paging == 0:
            if g.held_at is not None:  # quiet again before its page was ever due
                step.pending.update(held_at=None, pd_priority=None)
            return
        if s.PAGERDUTY_ROUTING_KEY is None or not await _open(step, f):
            return
    if step.g.pd_state == "triggering":
        await _trigger(step, f, "trigger")
        return
    await _follow_up(step, f)


async def _open(step: Step, f: Facts) -> bool:
    """Spend a unit of the storm budget (the storm page itself never needs one) and commit
    `triggering` with it, or hold the group. True when the trigger may go."""
    s = step.deps.settings
    g = step.g
    assert f.priority is not None  # type narrowing  # nosec B101
    async with step.deps.sessionmaker() as session, session.begin():
        granted = g.key == STORM_KEY or await budget.take(
            session, g.key, f.priority, step.now, s.PAGE_BUDGET, s.PAGE_BUDGET_WINDOW_SECONDS
        )
        if granted:
            row = await session.scalar(
                update(PageGroup)
                .where(PageGroup.key == g.key, PageGroup.owner == step.owner)
                .values(
                    **step.pending,
                    pd_state="triggering",
                    due_since=step.now,
                    attempts=0,
                    pd_priority=f.priority,
                    held_at=None,
                )
                .returning(PageGroup)
            )
            if row is None:
                raise Lost(g.key)  # rolls the budget unit back with the transaction
            step.g, step.pending = row, {}
            return True
        _, closes = await budget.window(
            session, s.PAGE_BUDGET, s.PAGE_BUDGET_WINDOW_SECONDS, step.now
        )
        # The storm page sums up what is held: wake it.
        await groups.ensure(session, STORM_KEY, groups.STORM_RECEIVER, groups.STORM_GROUP)
        await session.execute(
            update(PageGroup).where(PageGroup.key == STORM_KEY).values(wake_at=step.now)
        )
    note = (
        f"held by the storm budget ({s.PAGE_BUDGET} new pages per "
        f"{s.PAGE_BUDGET_WINDOW_SECONDS:.0f} s spent); paged when the window closes"
        + (f" at {closes.isoformat()}" if closes else "")
    )
    await step.write(
        {"held_at": g.held_at or step.now, "pd_priority": f.priority, "wake_at": closes},
        decision=("held", note, ("pending",)),
    )
    return False


def _settle_time(step: Step, f: Facts) -> datetime | None:
    """When an open page may resolve (None: not while incidents still want it)."""
    s = step.deps.settings
    if f.paging > 0 or f.damped > 0:
        return None
    quiet = min(f.resolved_at or step.g.quiet_since or step.now, step.now)
    at = quiet + timedelta(seconds=s.PAGE_RESOLVE_DELAY_SECONDS)
    if f.damped_resolved_at is not None:  # flapping: resolved for the whole window first
        at = max(at, f.damped_resolved_at + timedelta(seconds=s.FLAP_WINDOW_SECONDS))
    return at


async def _follow_up(step: Step, f: Facts) -> None:
    s = step.deps.settings
    g = step.g
    settle = _settle_time(step, f)
    step.pending["quiet_since"] = (
        None if settle is None else min(f.resolved_at or step.g.quiet_since or step.now, step.now)
    )
    if settle is not None:
        if step.now < settle:
            step.pending["wake_at"] = settle
            return
        ok, attempt = await step.call(
            "pagerduty", "resolve", pagerduty.follow_up_body(s, g.key, "resolve")
        )
        if ok:
            await step.write(
                {
                    **_give_up(g, "resolve"),
                    "attempts": 0,
                    "next_attempt_at": None,
                    "last_error": None,
                },
                call=call_record("pagerduty", "resolve", "delivered", attempt),
            )
        elif ok is False:
            await _failed(step, "pagerduty", "resolve", attempt, follow_up=True)
        return
    if f.paging == 0:
        return  # only flapping incidents keep it open: nothing to tell
    if f.pending:  # decided while the page was being opened: they are in it now
        note = f"merged into its group's open page {g.key[:12]}… (episode {g.episode})"
        await step.write(decision=("merged", note, ("pending",)))
    assert f.priority is not None  # type narrowing  # nosec B101
    escalate = g.pd_priority is None or PRIORITY_RANK[f.priority] < PRIORITY_RANK[g.pd_priority]
    interval = timedelta(seconds=s.PAGE_UPDATE_INTERVAL_SECONDS)
    last = g.last_call_at or step.now
    if escalate or (f.paging != g.pd_count and step.now >= last + interval):
        if not await _trigger(step, f, "escalate" if escalate else "update"):
            return
    elif f.paging != g.pd_count:
        step.pending["wake_at"] = last + interval
    if f.acked and step.g.pd_state == "triggered":
        body = pagerduty.follow_up_body(s, g.key, "acknowledge")
        ok, attempt = await step.call("pagerduty", "acknowledge", body)
        if ok:
            await step.write(
                {"pd_state": "acknowledged", "attempts": 0, "next_attempt_at": None},
                call=call_record("pagerduty", "acknowledge", "delivered", attempt),
            )
        elif ok is False:
            await _failed(step, "pagerduty", "acknowledge", attempt, follow_up=True)


async def _slack(step: Step, f: Facts) -> None:
    """One message when the group opens (paged, or asked for by an incident), one when it
    is over; held groups wait for their page."""
    s = step.deps.settings
    g = step.g
    paged = g.pd_state in OPEN
    if g.slack_state == "idle":
        if not (paged or (f.notifying > 0 and g.held_at is None and g.pd_state == "idle")):
            return
        body, event, after = slack.group_opened(g, f, s.PUBLIC_BASE_URL), "opened", "opened"
    else:
        if g.pd_state != "idle" or f.paging > 0 or f.damped > 0 or f.notifying > 0:
            return
        body, event, after = slack.group_resolved(g, s.PUBLIC_BASE_URL), "resolved", "idle"
    ok, attempt = await step.call("slack", event, body)
    if ok:
        await step.write(
            {"slack_state": after}, call=call_record("slack", event, "delivered", attempt)
        )
    elif ok is False:
        attempts = step.g.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if attempts < s.PAGE_FOLLOWUP_MAX_ATTEMPTS:
            values["next_attempt_at"] = step.backoff(attempts, attempt)
        else:  # give up on this message; the next one (or the next episode) tries again
            values.update(slack_state=after, attempts=0)
        await step.write(values, call=call_record("slack", event, "failed", attempt))


async def reconcile(deps: PipelineContext, key: str, owner: str) -> bool:
    """Passes over one group until its incidents stop changing under us (at most three);
    False when another worker holds it (its pass, or the sweeper, sees our change)."""
    for _ in range(3):
        seen = await _pass(deps, key, owner)
        if seen is None:
            return False
        async with deps.sessionmaker() as session:
            if await groups.signature(session, key) == seen:
                return True
    return True


async def _pass(deps: PipelineContext, key: str, owner: str) -> str | None:
    s = deps.settings
    owner = f"{owner}/{uuid.uuid4().hex[:8]}"[:100]  # one claim per pass, even in one process
    now = deps.clock.now()
    async with deps.sessionmaker() as session, session.begin():
        g = await groups.claim(session, key, owner, s.PAGE_LEASE_SECONDS, now)
        if g is None:
            return None
        f = await groups.facts(session, key)
    step = Step(deps, g, owner, now)
    step.pending.update(seen=f.seen, wake_at=None)
    try:
        if g.next_attempt_at is None or g.next_attempt_at <= now:
            step.pending["next_attempt_at"] = None  # this pass is the retry
            await _pagerduty(step, f)
            retry = step.g.next_attempt_at
            if retry is None or retry <= now:  # PagerDuty did not just fail: Slack's turn
                await _slack(step, f)
        await step.write(release=True)
    except Lost:
        log.warning("page group claim lost", extra={"page_key": key})
    except Exception:  # one group's surprise must not stop the others; retried later
        log.exception("page group reconcile failed", extra={"page_key": key})
        retry = now + timedelta(seconds=s.PAGE_RETRY_BASE_SECONDS)
        await groups.release(deps.sessionmaker, key, owner, next_attempt_at=retry)
    return f.seen
