"""Where the push pipeline's reports live, relative to DATA_DIR (contracts B and C fix these)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OUTBOX_LATEST = "reports/ops/push/outbox/outbox_latest.json"  # contract B's path wins over C's
OUTBOX_SNAPSHOTS = "reports/ops/push/outbox/snapshots"
PREVIEW_LATEST = "reports/ops/push/preview/latest/preview_latest.json"
PREVIEW_SNAPSHOTS = "reports/ops/push/preview/snapshots"
SELF_TEST_LATEST = "reports/ops/push/self_test/latest/self_test_latest.json"
SELF_TEST_SNAPSHOTS = "reports/ops/push/self_test/snapshots"
SEND_LATEST = "reports/ops/push/send/latest/send_latest.json"
SEND_SNAPSHOTS = "reports/ops/push/send/snapshots"
RECEIPTS_LOG = "state/push/send_receipts.jsonl"
EVIDENCE_INDEX_LATEST = "reports/ops/evidence/index/latest/evidence_index_latest.json"
INCIDENT_LATEST = "reports/ops/push/incident/latest/incident_latest.json"  # contract D
INCIDENT_SNAPSHOTS = "reports/ops/push/incident/snapshots"
OPS_SUMMARY_LATEST = "reports/ops/summary/latest/ops_summary_latest.json"  # written by app/ops

# The reports an evidence index lists, by name, in the order contract C lists evidence refs.
INDEXED_REPORTS: tuple[tuple[str, str], ...] = (
    ("send_latest", SEND_LATEST),
    ("outbox_latest", OUTBOX_LATEST),
    ("preview_latest", PREVIEW_LATEST),
    ("self_test_latest", SELF_TEST_LATEST),
)
# Further reports the evidence index lists (they are not evidence of a send receipt).
INDEXED_OPS_REPORTS: tuple[tuple[str, str], ...] = (
    ("incident_latest", INCIDENT_LATEST),
    ("ops_summary_latest", OPS_SUMMARY_LATEST),
)


@dataclass(frozen=True)
class PushPaths:
    """Resolves the relative paths above under one data directory."""

    root: Path

    def abs(self, relative: str) -> Path:
        return self.root / relative

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()
