"""PagerDuty Events API v2 bodies for a group's page: dedup_key = the group's key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.core.settings import Settings
from app.response.escalation.digest import console_link
from app.response.escalation.policy import SEVERITY
from app.response.models import PageGroup

if TYPE_CHECKING:
    from app.response.escalation.groups import Facts

# 400 means the event itself is invalid: resending the same body cannot succeed.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def _base(settings: Settings, key: str, action: str) -> dict[str, Any]:
    assert settings.PAGERDUTY_ROUTING_KEY is not None  # type narrowing  # nosec B101
    return {
        "routing_key": settings.PAGERDUTY_ROUTING_KEY.get_secret_value(),
        "event_action": action,
        "dedup_key": key,
    }


def follow_up_body(settings: Settings, key: str, action: str) -> dict[str, Any]:
    """acknowledge / resolve of a group's page: the key and the dedup_key only."""
    return _base(settings, key, action)


def group_body(settings: Settings, group: PageGroup, facts: Facts) -> dict[str, Any]:
    """The group's trigger (or its update: same dedup_key, the current count and priority)."""
    first_id, first_name, _, first_summary = (
        facts.alerts[0] if facts.alerts else ("", group.group_key, None, None)
    )
    head = f"{first_name} - {first_summary}" if first_summary else first_name
    more = f" (+{facts.paging - 1} more in the group)" if facts.paging > 1 else ""
    priority = facts.priority or "P0"
    body = _base(settings, group.key, "trigger")
    body["payload"] = {
        "summary": head[: 1024 - len(more)] + more,  # "<alertname> - <summary>", as specified
        "source": group.receiver or "ops-backend",
        "severity": SEVERITY.get(priority, "warning"),
        "group": group.group_key[:255],
        "class": first_name,
        "custom_details": {
            "priority": priority,
            "incidents": facts.paging,
            "flapping": facts.damped,
            "receiver": group.receiver,
            "group_key": group.group_key,
            "first_alerts": [
                {"incident_id": i, "alert": n, "priority": p, "summary": sm}
                for i, n, p, sm in facts.alerts
            ],
        },
    }
    if first_id:
        body["links"] = [
            {"href": console_link(settings.PUBLIC_BASE_URL, first_id), "text": "Console"}
        ]
    body["client"] = "ops-backend"
    return body


def storm_body(settings: Settings, key: str, facts: Facts, incidents: int) -> dict[str, Any]:
    """The one "alert storm" page: what the budget held back, and when it is paged."""
    top = ", ".join(f"{name} ({n})" for n, name, _, _ in facts.alerts) or "-"
    body = _base(settings, key, "trigger")
    body["payload"] = {
        "summary": (
            f"[P0] Alert storm: {facts.paging} group(s), {incidents} incident(s) held back by "
            f"the page budget ({settings.PAGE_BUDGET} per "
            f"{settings.PAGE_BUDGET_WINDOW_SECONDS:.0f} s); top: {top}"
        )[:1024],
        "source": "ops-backend",
        "severity": "critical",
        "class": "AlertStorm",
        "custom_details": {
            "held_groups": facts.paging,
            "held_incidents": incidents,
            "top_alerts": {name: int(n) for n, name, _, _ in facts.alerts},
            "note": "held groups are paged in priority order when the budget window closes",
        },
    }
    body["links"] = [
        {"href": f"{settings.PUBLIC_BASE_URL}/console/pages?state=held", "text": "Held pages"}
    ]
    body["client"] = "ops-backend"
    return body
