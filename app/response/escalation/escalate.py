"""The two doors of escalation: `page` (PagerDuty) and `notify` (Slack).

Each applies the escalation policy, builds the peer's body and delivers it through a
claimed delivery record; callers get an `Escalated` and never build a body themselves.
"""

from __future__ import annotations

from sqlalchemy import select

from app.incidents.models import Incident
from app.response.context import PipelineContext
from app.response.escalation import pagerduty, policy, slack
from app.response.escalation.deliveries import delivered
from app.response.escalation.events import NOTIFY, Channel, Escalated, PageEvent
from app.response.escalation.send import deliver
from app.response.remediation.outcome import Outcome
from app.response.snapshot import IncidentSnapshot


def _page_due(
    deps: PipelineContext, view: IncidentSnapshot, remediation: Outcome | None, reopened: bool
) -> bool:
    s = deps.settings
    if reopened:
        return policy.page_reopened(s, view.priority)
    if remediation is None:
        return policy.page_at_once(s, view.priority)
    return policy.page_after(s, view.priority, remediation.status)


async def _was_paged(deps: PipelineContext, incident_id: str) -> bool:
    async with deps.sessionmaker() as session:
        return await delivered(session, incident_id, Channel.PAGERDUTY, PageEvent.TRIGGER)


async def page(
    deps: PipelineContext,
    view: IncidentSnapshot,
    owner: str,
    event: PageEvent = PageEvent.TRIGGER,
    *,
    remediation: Outcome | None = None,
    reopened: bool = False,
) -> Escalated:
    """One PagerDuty event for the incident, when the policy calls for it.

    A trigger pages before remediation (`remediation` None) for priorities that page at
    once, after it for priorities that page when it did not fix the incident, and after a
    reopen (`reopened`) for any priority that pages. Acknowledge and resolve follow a
    trigger delivered in the incident's current generation, and only then.
    """
    s = deps.settings
    event = PageEvent(event)
    if event is PageEvent.TRIGGER:
        if not _page_due(deps, view, remediation, reopened):
            return Escalated.NOT_DUE
    elif not await _was_paged(deps, view.id):
        return Escalated.NOT_DUE
    body = (
        pagerduty.event_body(
            s,
            view,
            event,
            outcome=remediation.status if remediation else None,
            records=remediation.records if remediation else None,
        )
        if s.PAGERDUTY_ROUTING_KEY
        else {}
    )
    return await deliver(deps, view.id, Channel.PAGERDUTY, event, body, owner)


async def _reload(deps: PipelineContext, incident_id: str) -> IncidentSnapshot:
    async with deps.sessionmaker() as session:
        incident = await session.scalar(select(Incident).where(Incident.id == incident_id))
        assert incident is not None  # type narrowing  # nosec B101
        return IncidentSnapshot.of(incident)


async def notify(
    deps: PipelineContext, view: IncidentSnapshot, owner: str, remediation: Outcome
) -> Escalated:
    """The Slack message after remediation, when the policy calls for it; it shows the
    incident as it is now (re-read), with the remediation's outcome and records."""
    if not policy.notify_slack(deps.settings, view.priority, remediation.status):
        return Escalated.NOT_DUE
    view = await _reload(deps, view.id)
    body = slack.message(
        view, remediation.status, remediation.records, deps.settings.PUBLIC_BASE_URL
    )
    return await deliver(deps, view.id, Channel.SLACK, NOTIFY, body, owner)
