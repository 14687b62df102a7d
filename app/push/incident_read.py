"""Reading incident pushes back from PostgreSQL (the files are artifacts, not the source)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.push.incident_models import IncidentPushRecord
from app.push.incident_schemas import (
    IncidentKind,
    IncidentPushPage,
    IncidentPushRecordView,
    IncidentPushV1,
)


async def latest_push(session: AsyncSession) -> IncidentPushV1 | None:
    """The newest push's INCIDENT_PUSH_V1 document."""
    async with session.begin():
        document = await session.scalar(
            select(IncidentPushRecord.document).order_by(IncidentPushRecord.seq.desc()).limit(1)
        )
    return IncidentPushV1.model_validate(document) if document is not None else None


def _view(row: IncidentPushRecord) -> IncidentPushRecordView:
    return IncidentPushRecordView.model_validate(
        {
            "push_id": row.id,
            "mode": row.mode,
            "result": row.result,
            "delivery_reason": row.delivery_reason,
            "error_class": row.error_class,
            "error_message_sanitized": row.error_message_sanitized,
            "slack_status": row.slack_status,
            "document": row.document,
        }
    )


async def list_pushes(
    session: AsyncSession, *, kind: IncidentKind | None, day: str | None, limit: int, offset: int
) -> IncidentPushPage:
    """Newest first; `day` is YYYYMMDD in TIMEZONE (the key's day)."""
    conditions = []
    if kind is not None:
        conditions.append(IncidentPushRecord.kind == kind.value)
    if day is not None:
        conditions.append(IncidentPushRecord.day == day)
    async with session.begin():
        total = await session.scalar(
            select(func.count()).select_from(IncidentPushRecord).where(*conditions)
        )
        rows = (
            await session.scalars(
                select(IncidentPushRecord)
                .where(*conditions)
                .order_by(IncidentPushRecord.seq.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return IncidentPushPage(
        items=[_view(r) for r in rows], total=total or 0, limit=limit, offset=offset
    )
