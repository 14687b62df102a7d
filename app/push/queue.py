"""Queueing push messages; other domains call `enqueue_message` inside their own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Unprocessable
from app.core.redact import looks_secret, redact
from app.push.models import PushMessage
from app.push.schemas import MessageCreate, PushType

TITLE_MAX = 500
CONTENT_MAX = 20_000


@dataclass(frozen=True)
class Enqueued:
    message_id: str
    created: bool


async def enqueue(
    session: AsyncSession,
    *,
    push_type: PushType | str,
    title: str,
    content: str,
    source_ref: str | None = None,
    dedup_key: str | None = None,
    now: datetime | None = None,
) -> Enqueued:
    """Insert a PENDING message unless `dedup_key` is taken; never commits (caller's transaction).

    Text carrying a secret-looking value is stored redacted and flagged, so the secret never
    reaches the database or the outbox, and the send gate blocks it (SECRET_INJECTION_SUSPECTED).
    """
    try:
        kind = PushType(push_type)
    except ValueError:
        allowed = ", ".join(t.value for t in PushType)
        raise Unprocessable(f"push_type must be one of {allowed}") from None
    if not title.strip() or not content.strip():
        raise Unprocessable("title and content must not be blank")
    suspected = looks_secret(title) or looks_secret(content)
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "push_type": kind.value,
        "title": redact(title)[:TITLE_MAX],
        "content": redact(content)[:CONTENT_MAX],
        "source_ref": redact(source_ref)[:200] if source_ref else None,
        "dedup_key": dedup_key,
        "secret_suspected": suspected,
        "created_at": now if now is not None else func.now(),
    }
    if dedup_key is None:
        await session.execute(insert(PushMessage).values(**values))
        return Enqueued(values["id"], True)
    statement = (
        pg_insert(PushMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[PushMessage.dedup_key])
        .returning(PushMessage.id)
    )
    inserted = (await session.execute(statement)).scalar_one_or_none()
    if inserted is not None:
        return Enqueued(inserted, True)
    existing = await session.scalar(
        select(PushMessage.id).where(PushMessage.dedup_key == dedup_key)
    )
    if existing is None:  # the row that won the conflict was deleted in between
        raise Unprocessable("dedup_key conflict with a message that no longer exists; retry")
    return Enqueued(existing, False)


async def submit_message(session: AsyncSession, body: MessageCreate, now: datetime) -> Enqueued:
    """`POST /api/push/messages`: queue in its own transaction (committed before the answer)."""
    async with session.begin():
        return await enqueue(session, now=now, **body.model_dump())


async def enqueue_message(
    session: AsyncSession,
    *,
    push_type: PushType | str,
    title: str,
    content: str,
    source_ref: str | None = None,
    dedup_key: str | None = None,
) -> str:
    """Queue a push message in the caller's transaction; returns its id (the existing one on a
    repeated `dedup_key`, so the same incident never queues twice)."""
    result = await enqueue(
        session,
        push_type=push_type,
        title=title,
        content=content,
        source_ref=source_ref,
        dedup_key=dedup_key,
    )
    return result.message_id


def message_view(row: PushMessage) -> dict[str, Any]:
    """The API's view of a message (content already redacted at enqueue)."""
    return {
        "message_id": row.id,
        "push_type": row.push_type,
        "title": row.title,
        "content": row.content,
        "source_ref": row.source_ref,
        "dedup_key": row.dedup_key,
        "status": row.status,
        "secret_suspected": row.secret_suspected,
        "created_at": row.created_at.isoformat(),
        "attempts": row.attempts,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "telegram_message_id": row.telegram_message_id,
    }


async def list_messages(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """Messages newest first, optionally by status."""
    query = select(PushMessage)
    counter = select(func.count()).select_from(PushMessage)
    if status is not None:
        query = query.where(PushMessage.status == status)
        counter = counter.where(PushMessage.status == status)
    async with session.begin():
        total = await session.scalar(counter) or 0
        rows = (
            await session.scalars(
                query.order_by(PushMessage.seq.desc()).limit(limit).offset(offset)
            )
        ).all()
    return {
        "items": [message_view(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
