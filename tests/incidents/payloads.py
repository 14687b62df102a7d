"""Alertmanager v4 webhook bodies shaped exactly as Alertmanager 0.25 sends them."""

from __future__ import annotations

from typing import Any

ZERO = "0001-01-01T00:00:00Z"


def alert(
    name: str,
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    severity: str = "critical",
    service: str = "email-service",
    starts_at: str = "2026-01-25T09:00:00.123456789Z",
    ends_at: str = ZERO,
    summary: str = "something is wrong",
    **labels: str,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "service": service, **labels},
        "annotations": {"summary": summary, "description": f"{name} details"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    if fingerprint is not None:
        item["fingerprint"] = fingerprint
    return item


def webhook(
    *alerts: dict[str, Any],
    status: str = "firing",
    group_key: str = '{}:{alertname="X"}',
    receiver: str = "incident-webhook",
) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": "X"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "notification_reason": "new",
        "routeLabels": {},
        "alerts": list(alerts),
    }
