"""Who hears about an incident, and when, per priority (ESCALATION_PAGERDUTY / _SLACK)."""

from __future__ import annotations

from app.core.settings import Settings
from app.incidents.models import Priority
from app.response.remediation.outcome import RemediationStatus

RS = RemediationStatus
# Remediation outcomes after which a human must look: anything but a verified fix.
UNRESOLVED = frozenset({RS.FAILED, RS.NOT_REMEDIATED, RS.OFF})
SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning"}


def _pagerduty(settings: Settings, priority: str) -> str:
    rules: dict[str, str] = {str(k): str(v) for k, v in settings.ESCALATION_PAGERDUTY.items()}
    return rules.get(priority, "never")


def _slack(settings: Settings, priority: str) -> str:
    rules: dict[str, str] = {str(k): str(v) for k, v in settings.ESCALATION_SLACK.items()}
    return rules.get(priority, "never")


def page_at_once(settings: Settings, priority: str) -> bool:
    """P0 by default: page before remediation even starts."""
    return _pagerduty(settings, priority) == "immediate"


def page_after(settings: Settings, priority: str, outcome: RemediationStatus) -> bool:
    """P1 by default: page when remediation did not fix it (failed, dry-run, no rule)."""
    return _pagerduty(settings, priority) == "on_failure" and outcome in UNRESOLVED


def page_reopened(settings: Settings, priority: str) -> bool:
    """A reopened incident pages again when its priority pages at all."""
    return page_at_once(settings, priority) or page_after(settings, priority, RS.FAILED)


def reopen_paging_priorities(settings: Settings) -> list[str]:
    return [p.value for p in Priority if page_reopened(settings, p.value)]


def notify_slack(settings: Settings, priority: str, outcome: RemediationStatus) -> bool:
    rule = _slack(settings, priority)
    return rule == "always" or (rule == "on_failure" and outcome in UNRESOLVED)
