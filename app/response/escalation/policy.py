"""Who hears about an incident, and when, per priority (ESCALATION_PAGERDUTY / _SLACK)."""

from __future__ import annotations

from app.core.settings import Settings

# Remediation outcomes after which a human must look: anything but a verified fix.
UNRESOLVED = frozenset({"failed", "not_remediated", "off"})
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


def page_after(settings: Settings, priority: str, outcome: str) -> bool:
    """P1 by default: page when remediation did not fix it (failed, dry-run, no rule)."""
    return _pagerduty(settings, priority) == "on_failure" and outcome in UNRESOLVED


def notify_slack(settings: Settings, priority: str, outcome: str) -> bool:
    rule = _slack(settings, priority)
    return rule == "always" or (rule == "on_failure" and outcome in UNRESOLVED)
