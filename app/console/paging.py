""" "Why was I paged, or not": the escalation policy, the paging decision and the group's
calls (page_calls), in words."""

from __future__ import annotations

from app.core.settings import Settings
from app.incidents.models import Incident
from app.response.models import PageCall

POLICY_WORDS = {
    "immediate": "pages PagerDuty at once",
    "on_failure": "pages PagerDuty only when remediation does not fix it",
    "never": "never pages PagerDuty",
    "always": "always notifies Slack",
}

DECISION_WORDS = {
    "pending": "its group's page is owed to PagerDuty, not delivered yet",
    "paged": "its group's PagerDuty incident was opened (or updated) with this incident in it",
    "merged": "merged into its group's open PagerDuty incident (no new page)",
    "held": "held back by the storm budget; paged when the window closes",
    "damped": "its alert is flapping: no new page",
    "skipped": "not paged: PagerDuty is not configured",
}


def _call_line(call: PageCall) -> str:
    status = f"HTTP {call.http_status}" if call.http_status is not None else "no answer"
    error = f", {call.error_class}" if call.error_class else ""
    return f"Last {call.channel} call: {call.event} {call.result} ({status}{error})."


def explain(settings: Settings, incident: Incident, calls: list[PageCall]) -> list[str]:
    """Plain sentences an on-call engineer can check against the group's calls below them."""
    priority = incident.priority.value
    lines: list[str] = []
    if priority not in settings.PIPELINE_PRIORITIES:
        lines.append(
            f"{priority} is not in PIPELINE_PRIORITIES: no diagnostics, remediation or page."
        )
    pagerduty = settings.ESCALATION_PAGERDUTY.get(priority, "never")  # type: ignore[call-overload]
    slack = settings.ESCALATION_SLACK.get(priority, "never")  # type: ignore[call-overload]
    lines.append(f"Policy: {priority} {POLICY_WORDS.get(pagerduty, pagerduty)}.")
    slack_words = "notifies Slack only on failure" if slack == "on_failure" else None
    lines.append(
        f"Policy: {priority} {slack_words or POLICY_WORDS.get(slack, 'never notifies Slack')}."
    )
    if settings.PAGERDUTY_ROUTING_KEY is None:
        lines.append("PAGERDUTY_ROUTING_KEY is not set: no page can be sent from this service.")
    if settings.SLACK_WEBHOOK_URL is None:
        lines.append("SLACK_WEBHOOK_URL is not set: no Slack message can be sent.")
    state = incident.pipeline_state.value
    if state in ("pending", "running"):
        lines.append(f"The response pipeline is {state}: its decisions are not all made yet.")
    elif state == "failed":
        lines.append("The response pipeline failed after its retries: see the timeline.")
    decision = incident.page_decision
    if decision is not None:
        lines.append(f"Paging decision: {decision}: {DECISION_WORDS.get(decision, decision)}.")
    elif pagerduty == "on_failure" and incident.resolved_at and state == "done":
        lines.append("Remediation resolved it, so nobody was paged.")
    elif pagerduty != "never" and state == "done":
        lines.append("No page was recorded although the policy allows one: check the timeline.")
    last = {call.channel: call for call in calls}  # oldest first: the latest per channel wins
    lines.extend(_call_line(call) for call in last.values())
    if incident.acknowledged_by:
        lines.append(
            f"Acknowledged by {incident.acknowledged_by}: PagerDuty follows the acknowledgement."
        )
    return lines
