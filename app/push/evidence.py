"""The evidence index: each latest report with its path, asof and sha256."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from app.core.files import write_json_atomic
from app.push.paths import (
    EVIDENCE_INDEX_LATEST,
    INDEXED_OPS_REPORTS,
    INDEXED_REPORTS,
    SEND_LATEST,
    PushPaths,
)
from app.push.schemas import EvidenceEntry, EvidenceIndexV1


def rebuild_index(paths: PushPaths, now: datetime) -> EvidenceIndexV1:
    """Re-hash every latest report that exists and replace the index atomically.

    Replicas may rebuild at the same moment; each write is whole, and the last one lists the
    reports as they were when it hashed them.
    """
    entries = []
    for name, relative in INDEXED_REPORTS + INDEXED_OPS_REPORTS:
        try:
            raw = paths.abs(relative).read_bytes()
        except FileNotFoundError:
            continue
        try:
            asof = json.loads(raw).get("asof")
        except (ValueError, AttributeError):
            asof = None
        entries.append(
            EvidenceEntry(
                name=name,
                path=relative,
                asof=asof if isinstance(asof, str) else None,
                sha256=hashlib.sha256(raw).hexdigest(),
            )
        )
    index = EvidenceIndexV1(asof=now, entries=entries)
    write_json_atomic(paths.abs(EVIDENCE_INDEX_LATEST), index)
    return index


def evidence_refs_for_send(paths: PushPaths) -> list[str]:
    """Raw paths for a receipt: the index and send_latest (both written with the receipt), then
    each other latest report that exists now."""
    refs = [EVIDENCE_INDEX_LATEST, SEND_LATEST]
    refs += [rel for _, rel in INDEXED_REPORTS if rel != SEND_LATEST and paths.exists(rel)]
    return refs
