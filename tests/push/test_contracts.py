"""contracts/*.schema.json are generated from the Pydantic models: regenerate and compare."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from tests.push.helpers import INCIDENT_KINDS, INCIDENT_PUSH_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_contracts", ROOT / "scripts/gen_contracts.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_contracts"] = module
    spec.loader.exec_module(module)
    return module


def test_contract_files_match_the_models() -> None:
    assert _generator().stale() == [], "run: python scripts/gen_contracts.py"


def test_receipt_contract_has_contract_c_fields() -> None:
    schema = json.loads((ROOT / "contracts/push_send_receipt_v1.schema.json").read_text())
    fields = {
        "schema",
        "send_id",
        "asof",
        "channel",
        "message_id",
        "request_type",
        "decision",
        "blocked_reason",
        "formatter_ref",
        "preview_ref",
        "secrets_status_observed",
        "http_status",
        "error_class",
        "error_message_sanitized",
        "evidence_refs",
    }
    assert set(schema["properties"]) == fields
    assert set(schema["required"]) == fields
    reasons = schema["$defs"]["BlockedReason"]["enum"]
    assert reasons == [
        "EMERGENCY_STOP",
        "NOT_REAL_GATE",
        "SENDER_DISABLED",
        "SELF_TEST_FAIL",
        "NO_MESSAGES",
        "ALLOWLIST_VIOLATION",
        "WINDOW_CONSUMED",
        "SECRET_INJECTION_SUSPECTED",
    ]


def test_outbox_contract_has_contract_b_fields() -> None:
    schema = json.loads((ROOT / "contracts/push_outbox_v1.schema.json").read_text())
    assert set(schema["required"]) == {
        "schema",
        "outbox_id",
        "asof",
        "delivery_run_id",
        "gate_mode_observed",
        "delivery_policy",
        "self_test_decision_observed",
        "messages",
        "summary",
    }
    assert schema["properties"]["delivery_policy"]["const"] == "CONSOLE_ONLY"


def test_incident_contract_has_contract_d_fields_and_enums() -> None:
    schema = json.loads((ROOT / "contracts/incident_push_v1.schema.json").read_text())
    assert set(schema["properties"]) == INCIDENT_PUSH_FIELDS
    assert set(schema["required"]) == INCIDENT_PUSH_FIELDS
    defs = schema["$defs"]
    assert defs["IncidentKind"]["enum"] == INCIDENT_KINDS
    assert defs["Severity"]["enum"] == ["CRITICAL", "HIGH", "MEDIUM"]
    assert defs["DeliveryActual"]["enum"] == ["CONSOLE_SIMULATED", "TELEGRAM", "FALLBACK_CURL"]
    assert set(defs["SendReceipt"]["properties"]) == {"provider", "message_id", "sent_at"}
