"""Pure Alertmanager parsing: webhook v4 (or one bare alert) into normalised alerts.

Follows alerta's split: this module knows the wire format and nothing about storage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.core.errors import Unprocessable

ZERO_TIME_YEAR = 1  # Alertmanager's "no end" is 0001-01-01T00:00:00Z
MAX_ALERT_NAME = 100
MAX_SERVICE = 100
MAX_FINGERPRINT = 200
MAX_SEVERITY = 50
MAX_RECEIVER = 200
MAX_GROUP_KEY = 2000
DIRECT_RECEIVER = "direct"  # a bare alert (curl, a script): no Alertmanager route, no group


def _clean(text: str) -> str:
    """Text PostgreSQL will take: NUL replaced, lone UTF-16 surrogates refused (never storable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid UTF-8 (a lone UTF-16 surrogate)") from None
    return text.replace("\x00", "\ufffd")


def printable(text: str) -> str:
    """`text` safe to put in a JSON answer or a log line (lone surrogates replaced)."""
    return text.encode("utf-8", "replace").decode("utf-8")


class AlertIn(BaseModel):
    """One alert as Alertmanager sends it; unknown fields are ignored (newer versions add some)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"] = "firing"
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - wire name
    endsAt: datetime | None = None  # noqa: N815 - wire name
    generatorURL: str | None = None  # noqa: N815 - wire name
    fingerprint: str | None = Field(default=None, max_length=MAX_FINGERPRINT)

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # curl users send numbers and booleans; Alertmanager only ever sends strings.
        if isinstance(value, dict):
            return {
                _clean(str(k)): _clean(v if isinstance(v, str) else json.dumps(v))
                for k, v in value.items()
            }
        return value

    @field_validator("fingerprint", "generatorURL")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _clean(value) if value is not None else None

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None or value.year == ZERO_TIME_YEAR:
            return None
        try:
            # In UTC now: an offset that pushes the instant past year 9999 can never be stored.
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            raise ValueError("timestamp is outside the representable range") from None


class WebhookIn(BaseModel):
    """Alertmanager webhook payload, version 4; each alert is validated on its own."""

    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    groupKey: str | None = None  # noqa: N815 - wire name
    truncatedAlerts: int = 0  # noqa: N815 - wire name
    status: str | None = None
    receiver: str | None = None
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815 - wire name
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815 - wire name
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815 - wire name
    externalURL: str | None = None  # noqa: N815 - wire name
    alerts: list[Any] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class ParsedAlert:
    """What ingest needs from one alert, already normalised."""

    fingerprint: str
    firing: bool
    alert_name: str
    priority: str
    severity: str | None
    service: str | None
    summary: str | None
    description: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str | None
    # The Alertmanager group the alert arrived in: pages are per group (one problem).
    group_key: str
    receiver: str


def page_key(receiver: str, group_key: str) -> str:
    """The group's PagerDuty dedup_key: stable across replicas and restarts.

    Alertmanager's own PagerDuty receiver sends sha256(groupKey); ours also hashes the
    receiver, so two receivers (or Alertmanager clusters) with equal group keys stay apart.
    """
    return hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()


def webhook_body_schema() -> dict[str, Any]:
    """JSON schema of the body, for the OpenAPI document (the route parses the body itself)."""
    return {
        "type": "object",
        "description": "Alertmanager webhook v4; one bare alert object is accepted too.",
        "required": ["alerts"],
        "properties": {
            "version": {"type": "string"},
            "groupKey": {"type": "string"},
            "status": {"type": "string"},
            "receiver": {"type": "string"},
            "truncatedAlerts": {"type": "integer"},
            "alerts": {"type": "array", "minItems": 1, "items": AlertIn.model_json_schema()},
        },
    }


@dataclass(frozen=True, slots=True)
class RejectedAlert:
    """An alert that can never be stored, and why (answered `rejected`; its neighbours are stored)."""

    fingerprint: str | None
    reason: str


def label_fingerprint(labels: dict[str, str]) -> str:
    """Stable fingerprint from the sorted label set (used when Alertmanager's is absent)."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def priority_for(labels: Mapping[str, str], severity_map: Mapping[str, str], default: str) -> str:
    """A valid `priority` label wins; else the severity map; else the default."""
    explicit = labels.get("priority", "").strip().upper()
    if explicit in ("P0", "P1", "P2"):
        return explicit
    return severity_map.get(labels.get("severity", "").strip().lower(), default)


def normalise(
    alert: AlertIn,
    severity_map: Mapping[str, str],
    default_priority: str,
    group: tuple[str, str] | None = None,
) -> ParsedAlert:
    """One wire alert as ingest needs it; `group` is the webhook's (receiver, groupKey)."""
    labels = alert.labels
    fingerprint = alert.fingerprint or label_fingerprint(labels)
    receiver, group_key = group or (DIRECT_RECEIVER, f"alert:{fingerprint}")
    return ParsedAlert(
        fingerprint=fingerprint,
        firing=alert.status == "firing",
        alert_name=(labels.get("alertname") or "unnamed")[:MAX_ALERT_NAME],
        priority=priority_for(labels, severity_map, default_priority),
        severity=labels["severity"][:MAX_SEVERITY] if labels.get("severity") else None,
        service=labels["service"][:MAX_SERVICE] if labels.get("service") else None,
        summary=alert.annotations.get("summary"),
        description=alert.annotations.get("description"),
        labels=labels,
        annotations=alert.annotations,
        starts_at=alert.startsAt,
        ends_at=alert.endsAt,
        generator_url=alert.generatorURL,
        group_key=group_key,
        receiver=receiver,
    )


def _errors(exc: ValidationError) -> str:
    first = exc.errors()[:3]
    text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in first)
    return printable(text)


def _raw_fingerprint(raw: Any) -> str | None:
    """The sender's fingerprint of a rejected alert, when it is a sane string to echo back."""
    value = raw.get("fingerprint") if isinstance(raw, dict) else None
    if not isinstance(value, str) or len(value) > MAX_FINGERPRINT:
        return None
    try:
        return _clean(value)
    except ValueError:
        return None


def _group(payload: WebhookIn) -> tuple[str, str] | None:
    """The webhook's (receiver, groupKey); None (each alert its own group) when unusable."""
    if not payload.groupKey:
        return None
    try:
        receiver = _clean(payload.receiver or "")[:MAX_RECEIVER] or "unnamed"
        return receiver, _clean(payload.groupKey)[:MAX_GROUP_KEY]
    except ValueError:
        return None


def parse_alert(
    raw: Any,
    severity_map: Mapping[str, str],
    default_priority: str,
    group: tuple[str, str] | None = None,
) -> ParsedAlert | RejectedAlert:
    """One alert, normalised, or the reason it can never be stored."""
    try:
        return normalise(AlertIn.model_validate(raw), severity_map, default_priority, group)
    except ValidationError as exc:
        reason = f"invalid alert: {_errors(exc)}"
    except (RecursionError, ValueError, OverflowError) as exc:  # e.g. nesting too deep to encode
        reason = f"invalid alert: {type(exc).__name__}"
    return RejectedAlert(_raw_fingerprint(raw), reason)


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unprocessable(f"body is not valid JSON: {printable(str(exc))}") from None
    except RecursionError:
        raise Unprocessable("body is not acceptable JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise Unprocessable(f"body is not acceptable JSON: {printable(str(exc))[:120]}") from None


def parse_payload(
    body: bytes, severity_map: Mapping[str, str], default_priority: str
) -> list[ParsedAlert | RejectedAlert]:
    """Parse a v4 webhook or one alert; Unprocessable (with a reason) when nothing is storable.

    An alert that can never be stored comes back as a RejectedAlert, so one poison alert
    never blocks its group: the caller stores the others and answers it `rejected`.
    """
    document = _load_json(body)
    if not isinstance(document, dict):
        raise Unprocessable("body must be a JSON object (Alertmanager webhook v4 or one alert)")
    group: tuple[str, str] | None = None
    if "alerts" in document:
        try:
            payload = WebhookIn.model_validate(document)
        except ValidationError as exc:
            raise Unprocessable(f"invalid alert payload: {_errors(exc)}") from None
        raw_alerts = payload.alerts
        group = _group(payload)
    elif "labels" in document:
        raw_alerts = [document]
    else:
        raise Unprocessable("expected an Alertmanager webhook (alerts[]) or an alert (labels)")
    alerts = [parse_alert(raw, severity_map, default_priority, group) for raw in raw_alerts]
    refused = [a for a in alerts if isinstance(a, RejectedAlert)]
    if len(refused) == len(alerts):
        raise Unprocessable(f"no alert can be stored: {refused[0].reason}")
    return alerts
