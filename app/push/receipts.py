"""PUSH_SEND_RECEIPT_V1: build (sanitized), store in the database, write the contract's files."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.files import append_jsonl, write_json_atomic, write_snapshot
from app.core.redact import redact
from app.core.settings import Settings
from app.push.models import PushSendReceipt
from app.push.paths import RECEIPTS_LOG, SEND_LATEST, SEND_SNAPSHOTS, PushPaths
from app.push.schemas import BlockedReason, Decision, PushSendReceiptV1, PushType, SecretsStatus

ERROR_MESSAGE_MAX = 300


def secrets_status(settings: Settings) -> SecretsStatus:
    """Presence of the Telegram secrets, never their values."""
    present = settings.secrets_present()
    return SecretsStatus(
        TELEGRAM_BOT_TOKEN=present["TELEGRAM_BOT_TOKEN"],
        TELEGRAM_CHAT_ID=present["TELEGRAM_CHAT_ID"],
    )


def build_receipt(
    *,
    now: datetime,
    message_id: str | None,
    push_type: str | None,
    decision: Decision,
    blocked_reason: BlockedReason | None,
    secrets: SecretsStatus,
    refs: list[str],
    http_status: int | None = None,
    error_class: str | None = None,
    error_message: str | None = None,
) -> PushSendReceiptV1:
    """One receipt; the error message passes the redactor here whatever its origin."""
    return PushSendReceiptV1(
        send_id=str(uuid.uuid4()),
        asof=now,
        message_id=message_id,
        request_type=PushType(push_type) if push_type else None,
        decision=decision,
        blocked_reason=blocked_reason,
        secrets_status_observed=secrets,
        http_status=http_status,
        error_class=redact(error_class) if error_class else None,
        error_message_sanitized=(
            redact(error_message)[:ERROR_MESSAGE_MAX] if error_message else None
        ),
        evidence_refs=refs,
    )


def receipt_row(receipt: PushSendReceiptV1) -> PushSendReceipt:
    return PushSendReceipt(
        send_id=receipt.send_id,
        asof=receipt.asof,
        message_id=receipt.message_id,
        decision=receipt.decision.value,
        blocked_reason=receipt.blocked_reason.value if receipt.blocked_reason else None,
        document=receipt.model_dump(mode="json"),
    )


def write_receipt_files(paths: PushPaths, receipt: PushSendReceiptV1) -> None:
    """Append to the log (append-only), replace send_latest atomically, add a snapshot."""
    append_jsonl(paths.abs(RECEIPTS_LOG), receipt)
    write_json_atomic(paths.abs(SEND_LATEST), receipt)
    write_snapshot(paths.abs(SEND_SNAPSHOTS), "send", receipt.asof, receipt)


async def list_receipts(
    session: AsyncSession,
    *,
    decision: Decision | None,
    blocked_reason: BlockedReason | None,
    message_id: str | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Receipts newest first, filtered, with the total for paging."""
    conditions = []
    if decision is not None:
        conditions.append(PushSendReceipt.decision == decision.value)
    if blocked_reason is not None:
        conditions.append(PushSendReceipt.blocked_reason == blocked_reason.value)
    if message_id is not None:
        conditions.append(PushSendReceipt.message_id == message_id)
    if since is not None:
        conditions.append(PushSendReceipt.asof >= since)
    async with session.begin():
        total = await session.scalar(
            select(func.count()).select_from(PushSendReceipt).where(*conditions)
        )
        rows = (
            await session.scalars(
                select(PushSendReceipt.document)
                .where(*conditions)
                .order_by(PushSendReceipt.seq.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return {"items": list(rows), "total": total or 0, "limit": limit, "offset": offset}
