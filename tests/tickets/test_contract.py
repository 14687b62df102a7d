"""contracts/ticket_*.schema.json carry contract A's fields and enums exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "contracts" / name).read_text())
    return loaded


def test_request_contract_fields_and_enums() -> None:
    schema = _schema("ticket_request_v1.schema.json")
    fields = {
        "schema",
        "request_id",
        "requested_at",
        "request_type",
        "payload",
        "status",
        "trace_id",
    }
    assert set(schema["properties"]) == fields
    assert set(schema["required"]) == fields
    assert schema["properties"]["schema"]["const"] == "TICKET_REQUEST_V1"
    assert schema["properties"]["status"]["const"] == "OPEN"
    defs = schema["$defs"]
    assert defs["RequestType"]["enum"] == ["REQUEST_RECONCILE", "REQUEST_REPORTS", "ACKNOWLEDGE"]
    assert defs["ReconcileMode"]["enum"] == ["FULL", "INCREMENTAL"]
    assert defs["ReportsMode"]["enum"] == ["RE-EVALUATE", "REGEN"]
    assert defs["ReportsPayload"]["properties"]["scope"]["const"] == "PHASE_C_LATEST"
    assert defs["ReconcilePayload"]["properties"]["reason"]["maxLength"] == 200
    assert defs["AcknowledgePayload"]["required"] == ["message_id"]
    for payload in ("ReconcilePayload", "ReportsPayload", "AcknowledgePayload"):
        assert defs[payload]["additionalProperties"] is False


def test_submit_contract_is_discriminated_and_closed() -> None:
    schema = _schema("ticket_submit_v1.schema.json")
    assert schema["discriminator"]["propertyName"] == "request_type"
    for variant in ("SubmitReconcile", "SubmitReports", "SubmitAcknowledge"):
        definition = schema["$defs"][variant]
        assert definition["additionalProperties"] is False
        assert set(definition["properties"]) == {"request_type", "payload", "trace_id"}
        assert set(definition["required"]) == {"request_type", "payload"}


def test_event_statuses_are_the_contract_enum() -> None:
    schema = _schema("ticket_event_v1.schema.json")
    assert schema["$defs"]["TicketStatus"]["enum"] == ["OPEN", "IN_PROGRESS", "DONE", "FAILED"]
