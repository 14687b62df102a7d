"""The two doors of escalation: `page` (PagerDuty) and `notify` (Slack).

Each applies the escalation policy and hands the incident to its Alertmanager group
(escalation.paging), which decides (merged, held by the storm budget, damped as flapping)
and delivers one page per group; callers get an `Escalated` and never build a body.
"""

from __future__ import annotations

from app.response.context import PipelineContext
from app.response.escalation import paging, policy
from app.response.escalation.events import Escalated, PageEvent
from app.response.remediation.outcome import Outcome
from app.response.snapshot import IncidentSnapshot

_PAGED = {
    paging.PageResult.PAGED: Escalated.DELIVERED,
    paging.PageResult.MERGED: Escalated.MERGED,
    paging.PageResult.HELD: Escalated.HELD,
    paging.PageResult.DAMPED: Escalated.DAMPED,
    paging.PageResult.PENDING: Escalated.PENDING,
    paging.PageResult.SKIPPED: Escalated.SKIPPED,
    paging.PageResult.INACTIVE: Escalated.NOT_DUE,
}
_NOTIFIED = {
    paging.NotifyResult.POSTED: Escalated.DELIVERED,
    paging.NotifyResult.PENDING: Escalated.PENDING,
    paging.NotifyResult.SKIPPED: Escalated.SKIPPED,
    paging.NotifyResult.INACTIVE: Escalated.NOT_DUE,
}


async def page(
    deps: PipelineContext,
    view: IncidentSnapshot,
    owner: str,
    event: PageEvent = PageEvent.TRIGGER,
    *,
    remediation: Outcome | None = None,
) -> Escalated:
    """Page for the incident when the policy calls for it: before remediation
    (`remediation` None) for priorities that page at once, after it for priorities that page
    when it did not fix the incident. Acknowledge and resolve are the group's to send when
    its incidents say so; asking for them only makes the group look now."""
    s = deps.settings
    event = PageEvent(event)
    if event is not PageEvent.TRIGGER:
        await paging.changed(deps, view.id, owner)
        return Escalated.PENDING
    due = (
        policy.page_at_once(s, view.priority)
        if remediation is None
        else policy.page_after(s, view.priority, remediation.status)
    )
    if not due:
        return Escalated.NOT_DUE
    return _PAGED[await paging.page(deps, view.id, owner)]


async def notify(
    deps: PipelineContext, view: IncidentSnapshot, owner: str, remediation: Outcome
) -> Escalated:
    """Slack after remediation, when the policy calls for it: one message per group."""
    if not policy.notify_slack(deps.settings, view.priority, remediation.status):
        return Escalated.NOT_DUE
    return _NOTIFIED[await paging.notify(deps, view.id, owner)]
