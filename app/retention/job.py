"""The retention job: one bounded pass over every kind, run by the maintenance loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from app.retention.artifacts import expire_segments, expire_snapshots, jsonl_logs, rotate_if_due
from app.retention.rows import ROW_RULES, expire_rows

log = logging.getLogger(__name__)

DELETED = Counter(
    "retention_deleted_total", "Rows and files deleted by retention, by kind.", ["kind"]
)
ROTATED = Counter("jsonl_rotations_total", "JSONL logs rotated to a new file.")


def _files_pass(settings: Settings, root: Path, now: datetime) -> dict[str, int]:
    limit = settings.RETENTION_BATCH_SIZE * settings.RETENTION_MAX_BATCHES_PER_PASS
    counts: dict[str, int] = {}
    if settings.RETENTION_REPORT_SNAPSHOTS_DAYS:
        cutoff = now - timedelta(days=settings.RETENTION_REPORT_SNAPSHOTS_DAYS)
        counts["report_snapshots"] = expire_snapshots(root, cutoff, limit)
    rotated = segments = 0
    for path in jsonl_logs(root):
        if rotate_if_due(path, now, settings.JSONL_ROTATE_DAYS, settings.JSONL_ROTATE_MAX_BYTES):
            rotated += 1
        if settings.RETENTION_JSONL_DAYS:
            cutoff = now - timedelta(days=settings.RETENTION_JSONL_DAYS)
            segments += expire_segments(path, cutoff, limit - segments)
    counts["jsonl_segments"] = segments
    ROTATED.inc(rotated)
    return counts


async def run_retention(
    engine: AsyncEngine, settings: Settings, root: Path, now: datetime
) -> dict[str, int]:
    """Delete what outlived its retention, bounded per kind; counts of what went, by kind."""
    if not settings.RETENTION_ENABLED:
        return {}
    counts: dict[str, int] = {}
    for rule in ROW_RULES:
        days: int = getattr(settings, rule.setting)
        if days:
            counts[rule.kind] = await expire_rows(
                engine,
                rule,
                now - timedelta(days=days),
                settings.RETENTION_BATCH_SIZE,
                settings.RETENTION_MAX_BATCHES_PER_PASS,
            )
    counts.update(await asyncio.to_thread(_files_pass, settings, root, now))
    for kind, count in counts.items():
        DELETED.labels(kind).inc(count)
    if any(counts.values()):
        log.info("retention pass", extra={"deleted": counts})
    return counts
