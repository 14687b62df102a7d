""" "Why was I paged, or not": the escalation policy and the delivery ledger, in words."""

from __future__ import annotations

from typing import Any

from app.core.settings import Settings
from app.incidents.models import Incident

POLICY_WORDS = {
    "immediate": "pages PagerDuty at once",
    "on_failure": "pages PagerDuty only when remediation does not fix it",
    "never": "never pages PagerDuty",
    "always": "always notifies Slack",
}


def _delivery_line(delivery: Any, attempts: list[Any]) -> str:
    last = attempts[-1] if attempts else None
    status = f", HTTP {last.http_status}" if last is not None and last.http_status else ""
    error = f" ({last.error_class})" if last is not None and last.error_class else ""
    reopen = f" after reopen #{delivery.generation}" if delivery.generation else ""
    return (
        f"{delivery.channel} {delivery.event}{reopen}: {delivery.state}"
        f" after {delivery.attempts} attempt(s){status}{error}"
    )


def explain(settings: Settings, incident: Incident, ledger: list[dict[str, Any]]) -> list[str]:
    """Plain sentences an on-call engineer can check against the ledger table below them."""
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
    pages = [e for e in ledger if e["delivery"].channel == "pagerduty"]
    if not pages and pagerduty == "on_failure" and incident.resolved_at and state == "done":
        lines.append("Remediation resolved it, so nobody was paged.")
    elif not pages and pagerduty != "never" and state == "done":
        lines.append("No page was recorded although the policy allows one: check the timeline.")
    lines.extend(_delivery_line(e["delivery"], e["attempts"]) + "." for e in ledger)
    if incident.acknowledged_by:
        lines.append(
            f"Acknowledged by {incident.acknowledged_by}: PagerDuty follows the acknowledgement."
        )
    return lines
