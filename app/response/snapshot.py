"""A detached snapshot of the incident fields the pipeline reads (no ORM object crosses sessions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.incidents.models import Incident


@dataclass(frozen=True)
class IncidentSnapshot:
    id: str
    alert_name: str
    priority: str
    status: str
    service: str | None
    summary: str | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, Any] | None = None
    remediation_actions: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: bool = False

    @classmethod
    def of(cls, incident: Incident) -> IncidentSnapshot:
        return cls(
            id=incident.id,
            alert_name=incident.alert_name,
            priority=incident.priority.value,
            status=incident.status.value,
            service=incident.service or (incident.labels or {}).get("service"),
            summary=incident.summary or (incident.annotations or {}).get("summary"),
            labels=dict(incident.labels or {}),
            annotations=dict(incident.annotations or {}),
            diagnostics=incident.diagnostics,
            remediation_actions=list(incident.remediation_actions or []),
            acknowledged=incident.acknowledged_at is not None,
        )

    @property
    def active(self) -> bool:
        return self.status in ("open", "investigating")

    def namespace(self, default: str) -> str:
        return self.labels.get("namespace") or default
