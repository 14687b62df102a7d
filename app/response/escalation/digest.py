"""Short human text about diagnostics and remediation, shared by PagerDuty and Slack."""

from __future__ import annotations

from typing import Any

from app.response.snapshot import IncidentSnapshot


def title(view: IncidentSnapshot) -> str:
    """ "<alertname> - <summary>" as the spec asks (PagerDuty caps summary at 1024 chars)."""
    text = f"{view.alert_name} - {view.summary}" if view.summary else view.alert_name
    return text[:1024]


def diagnostics_digest(diagnostics: dict[str, Any] | None) -> str:
    if not diagnostics:
        return "no diagnostics"
    parts: list[str] = []
    for name, pod in (diagnostics.get("pods") or {}).items():
        parts.append(f"{name} {pod.get('ready', '?')} {pod.get('status', '?')}")
    for name, value in (diagnostics.get("metrics") or {}).items():
        if value is not None:
            parts.append(f"{name}={value:.4g}")
    deps = diagnostics.get("dependencies") or {}
    if deps:
        parts.append(", ".join(f"{k}:{v}" for k, v in deps.items()))
    errors = diagnostics.get("errors") or {}
    if errors:
        parts.append("unavailable: " + ", ".join(sorted(errors)))
    return "; ".join(parts) or "nothing found"


def remediation_digest(outcome: str, records: list[dict[str, Any]]) -> str:
    if not records:
        return f"{outcome}: no action"
    actions = ", ".join(
        f"{r['action']} {r['target']} {r.get('from')}->{r.get('to')} [{r.get('result')}]"
        for r in records
    )
    return f"{outcome}: {actions}"


def console_link(base_url: str, incident_id: str) -> str:
    return f"{base_url}/console/incidents/{incident_id}"
