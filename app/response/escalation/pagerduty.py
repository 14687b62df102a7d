"""PagerDuty Events API v2: trigger / acknowledge / resolve, dedup_key = the incident id."""

from __future__ import annotations

from typing import Any

from app.core.settings import Settings
from app.response.escalation.digest import (
    console_link,
    diagnostics_digest,
    remediation_digest,
    title,
)
from app.response.escalation.policy import SEVERITY
from app.response.snapshot import IncidentSnapshot

# 400 means the event itself is invalid: resending the same body cannot succeed.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def event_body(
    settings: Settings,
    view: IncidentSnapshot,
    action: str,
    *,
    outcome: str | None = None,
    records: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The enqueue body; acknowledge/resolve carry only the key and the dedup_key."""
    assert settings.PAGERDUTY_ROUTING_KEY is not None  # type narrowing  # nosec B101
    body: dict[str, Any] = {
        "routing_key": settings.PAGERDUTY_ROUTING_KEY.get_secret_value(),
        "event_action": action,
        "dedup_key": view.id,
    }
    if action != "trigger":
        return body
    body["payload"] = {
        "summary": title(view),
        "source": view.service or "ops-backend",
        "severity": SEVERITY.get(view.priority, "warning"),
        "component": view.service,
        "class": view.alert_name,
        "custom_details": {
            "priority": view.priority,
            "incident_id": view.id,
            "labels": view.labels,
            "diagnostics": diagnostics_digest(view.diagnostics),
            "remediation": remediation_digest(outcome or "pending", records or []),
        },
    }
    body["links"] = [{"href": console_link(settings.PUBLIC_BASE_URL, view.id), "text": "Console"}]
    body["client"] = "ops-backend"
    return body
