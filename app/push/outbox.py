"""Outbox run: pending messages formatted and recorded (PUSH_OUTBOX_V1 + preview). Never sends."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.files import write_json_atomic, write_snapshot
from app.core.settings import Settings
from app.push.claims import settle_abandoned
from app.push.evidence import evidence_refs_for_send, rebuild_index
from app.push.gates import read_gate
from app.push.models import PushMessage, PushOutboxItem, PushOutboxRun, PushSelfTest
from app.push.paths import (
    OUTBOX_LATEST,
    OUTBOX_SNAPSHOTS,
    PREVIEW_LATEST,
    PREVIEW_SNAPSHOTS,
    PushPaths,
)
from app.push.receipts import secrets_status, write_receipt_files
from app.push.schemas import (
    Channel,
    GateMode,
    MessageStatus,
    OutboxBlockedReason,
    OutboxMessage,
    OutboxSummary,
    PreviewMessage,
    PushOutboxV1,
    PushPreviewV1,
    PushType,
)
from app.utils.push_formatter import render_message, telegram_length


def _blocked_reason(message: PushMessage, telegram_ready: bool) -> OutboxBlockedReason | None:
    if message.secret_suspected:
        return OutboxBlockedReason.SECRET_INJECTION_SUSPECTED
    if not telegram_ready:
        return OutboxBlockedReason.NO_SECRETS_FOR_ANY_CHANNEL
    return None


async def run_outbox(
    session: AsyncSession, settings: Settings, paths: PushPaths, now: datetime
) -> tuple[PushOutboxV1, PushPreviewV1]:
    """Collect pending messages (oldest first), format each once, store and write the reports."""
    secrets = secrets_status(settings)
    telegram_ready = secrets.TELEGRAM_BOT_TOKEN and secrets.TELEGRAM_CHAT_ID
    outbox_id = str(uuid.uuid4())
    messages: list[OutboxMessage] = []
    previews: list[PreviewMessage] = []
    async with session.begin():
        # A dead sender's claim is settled here too, or a newer outbox (which takes PENDING
        # messages only) would leave its message in SENDING for ever.
        settled = await settle_abandoned(session, now, secrets, evidence_refs_for_send(paths))
        gate = await read_gate(session)
        self_test = await session.scalar(
            select(PushSelfTest.decision).order_by(PushSelfTest.seq.desc()).limit(1)
        )
        pending = (
            await session.scalars(
                select(PushMessage)
                .where(PushMessage.status == MessageStatus.PENDING)
                .order_by(PushMessage.seq)
                .limit(settings.PUSH_OUTBOX_MAX_MESSAGES)
            )
        ).all()
        session.add(
            run := PushOutboxRun(
                outbox_id=outbox_id, delivery_run_id=str(uuid.uuid4()), asof=now, document={}
            )
        )
        await session.flush()
        for position, message in enumerate(pending):
            rendered = render_message(message.push_type, message.title, message.content)
            blocked = _blocked_reason(message, telegram_ready)
            channels: list[Channel] = ["CONSOLE"] if blocked else ["CONSOLE", "TELEGRAM"]
            messages.append(
                OutboxMessage(
                    message_id=message.id,
                    push_type=PushType(message.push_type),
                    title=message.title,
                    content=message.content,
                    target_channels=channels,
                    blocked_reason=blocked,
                )
            )
            previews.append(
                PreviewMessage(
                    message_id=message.id,
                    push_type=PushType(message.push_type),
                    body=rendered.html,
                    body_plain_fallback=rendered.plain,
                    length=telegram_length(rendered.html),
                    truncated=rendered.truncated,
                    blocked_reason=blocked,
                )
            )
            session.add(
                PushOutboxItem(
                    outbox_id=outbox_id,
                    message_id=message.id,
                    position=position,
                    body_html=rendered.html,
                    body_plain=rendered.plain,
                    blocked_reason=blocked.value if blocked else None,
                )
            )
        external = sum(1 for m in messages if "TELEGRAM" in m.target_channels)
        outbox = PushOutboxV1(
            outbox_id=outbox_id,
            asof=now,
            delivery_run_id=run.delivery_run_id,
            gate_mode_observed=GateMode(gate.mode),
            self_test_decision_observed=self_test,
            messages=messages,
            summary=OutboxSummary(
                total_messages=len(messages),
                console_bound=len(messages) - external,
                external_candidate=external,
            ),
        )
        run.document = outbox.model_dump(mode="json")
    preview = PushPreviewV1(outbox_id=outbox_id, asof=now, messages=previews)
    for receipt in settled:
        write_receipt_files(paths, receipt)
    write_json_atomic(paths.abs(OUTBOX_LATEST), outbox)
    write_snapshot(paths.abs(OUTBOX_SNAPSHOTS), "outbox", now, outbox)
    write_json_atomic(paths.abs(PREVIEW_LATEST), preview)
    write_snapshot(paths.abs(PREVIEW_SNAPSHOTS), "preview", now, preview)
    rebuild_index(paths, now)
    return outbox, preview
