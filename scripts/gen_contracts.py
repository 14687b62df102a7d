"""Write contracts/*.schema.json from the Pydantic models (never hand-edit those files).

Usage: python scripts/gen_contracts.py          # (re)write every schema
       python scripts/gen_contracts.py --check  # exit 1 and name the files that differ

Domains add their contract to REGISTRY as (file name, "module:Class").
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = ROOT / "contracts"

REGISTRY: list[tuple[str, str]] = [
    ("push_outbox_v1.schema.json", "app.push.schemas:PushOutboxV1"),
    ("push_send_receipt_v1.schema.json", "app.push.schemas:PushSendReceiptV1"),
    ("push_preview_v1.schema.json", "app.push.schemas:PushPreviewV1"),
    ("push_self_test_v1.schema.json", "app.push.schemas:PushSelfTestV1"),
    ("evidence_index_v1.schema.json", "app.push.schemas:EvidenceIndexV1"),
    ("ticket_submit_v1.schema.json", "app.tickets.schemas:TicketSubmitV1"),
    ("ticket_request_v1.schema.json", "app.tickets.schemas:TicketRequestV1"),
    ("ticket_event_v1.schema.json", "app.tickets.schemas:TicketEventV1"),
    ("incident_push_v1.schema.json", "app.push.incident_schemas:IncidentPushV1"),
    ("ops_summary_v1.schema.json", "app.ops.schemas:OpsSummaryV1"),
]


def _load(target: str) -> type:
    module_name, _, class_name = target.partition(":")
    model: type = getattr(importlib.import_module(module_name), class_name)
    return model


def render(target: str) -> str:
    """The schema of what we write (serialization mode: every field the file carries)."""
    schema = _load(target).model_json_schema(mode="serialization")  # type: ignore[attr-defined]
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def generate() -> dict[str, str]:
    """File name -> schema text for every registered contract."""
    return {name: render(target) for name, target in REGISTRY}


def stale(directory: Path = CONTRACTS_DIR) -> list[str]:
    """Registered files whose content differs from the models (or that are missing)."""
    differing = []
    for name, text in generate().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            differing.append(name)
    return differing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a diff")
    args = parser.parse_args()
    if args.check:
        differing = stale()
        for name in differing:
            print(f"contracts/{name} is out of date: run python scripts/gen_contracts.py")
        return 1 if differing else 0
    CONTRACTS_DIR.mkdir(exist_ok=True)
    for name, text in generate().items():
        (CONTRACTS_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote contracts/{name}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
