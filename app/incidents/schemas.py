"""Incident API contracts (Pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.incidents.models import IncidentStatus, Priority

# What one alert came to: the webhook answer, the ingest result and the metric label.
AlertOutcome = Literal["created", "updated", "resolved", "ignored", "rejected", "heartbeat"]


class AlertResult(BaseModel):
    incident_id: str | None
    fingerprint: str | None = Field(description="null only for a rejected alert without a sane one")
    outcome: AlertOutcome
    reason: str | None = Field(
        default=None, description="why a `rejected` alert can never be stored (never retried)"
    )


class WebhookAnswer(BaseModel):
    """Answer to Alertmanager: one id and outcome per alert, in payload order."""

    incident_ids: list[str | None]
    results: list[AlertResult]
    incident_id: str | None = Field(default=None, description="set when the payload had one alert")


class IncidentCreate(BaseModel):
    """Direct creation by a person or another system (e.g. the self-healing automaton)."""

    model_config = ConfigDict(extra="forbid")

    alert_name: str = Field(min_length=1, max_length=100)
    priority: Priority | None = None
    severity: str | None = Field(default=None, max_length=50)
    service: str | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, max_length=4000)
    description: str | None = Field(default=None, max_length=20000)
    labels: dict[str, str] = Field(default_factory=dict)
    dedup_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=150,
        description="behaves like a fingerprint: repeats update the active incident",
    )
    group: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="incidents naming the same group share one page; unset: a group of its own",
    )


class CreateAnswer(BaseModel):
    incident_id: str
    outcome: AlertOutcome


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(default=None, max_length=100, description="defaults to the token")
    note: str | None = Field(default=None, max_length=2000)


class TimelineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any] | None


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    alert_name: str
    priority: Priority
    status: IncidentStatus
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    summary: str | None
    description: str | None
    service: str | None
    severity: str | None
    source: str
    fingerprint: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    starts_at: datetime | None
    last_seen_at: datetime
    occurrence_count: int
    previous_incident_id: str | None
    stale: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    pipeline_state: str
    group_key: str | None
    receiver: str | None
    page_key: str | None = Field(description="the group's PagerDuty dedup_key")
    page_decision: str | None = Field(
        description="paging decision: pending, paged, merged, held (storm), damped (flapping)"
    )


class IncidentDetail(IncidentOut):
    diagnostics: dict[str, Any] | None
    remediation_actions: list[dict[str, Any]] | None
    timeline: list[TimelineEntry]
