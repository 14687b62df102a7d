"""HTTP routes of the push pipeline: parameters, scopes, status codes and response models only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from app.core.auth import OperatorAuth, OperatorOrScriptAuth, ReadAuth
from app.core.db import SessionDep
from app.core.deps import ClockDep, SettingsDep
from app.core.errors import Unprocessable
from app.push import gates
from app.push.deps import PushPathsDep, TelegramDep
from app.push.outbox import run_outbox
from app.push.paths import (
    EVIDENCE_INDEX_LATEST,
    OUTBOX_LATEST,
    PREVIEW_LATEST,
    SELF_TEST_LATEST,
    SEND_LATEST,
)
from app.push.queue import list_messages, submit_message
from app.push.receipts import list_receipts
from app.push.reports import read_latest
from app.push.responses import (
    AuditPage,
    GateOut,
    MessagePage,
    MessageQueued,
    ReceiptPage,
    SendAnswer,
    WindowClosed,
    WindowOut,
)
from app.push.schemas import (
    BlockedReason,
    Decision,
    EvidenceIndexV1,
    GateUpdate,
    MessageCreate,
    MessageStatus,
    PushOutboxV1,
    PushPreviewV1,
    PushSelfTestV1,
    PushSendReceiptV1,
    WindowOpen,
)
from app.push.self_test import run_self_test
from app.push.send import run_send

router = APIRouter(prefix="/api/push", tags=["push"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.post("/messages", status_code=201)
async def create_message(
    body: MessageCreate, response: Response, session: SessionDep, clock: ClockDep, _: OperatorAuth
) -> MessageQueued:
    """Queue a message; a repeated `dedup_key` answers 200 with the existing message id."""
    queued = await submit_message(session, body, clock.now())
    if not queued.created:
        response.status_code = 200
    return MessageQueued(message_id=queued.message_id, created=queued.created)


@router.get("/messages")
async def get_messages(
    session: SessionDep,
    _: ReadAuth,
    status: MessageStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MessagePage:
    page = await list_messages(session, status=status, limit=limit, offset=offset)
    return MessagePage.model_validate(page)


@router.post("/outbox/run")
async def outbox_run(
    session: SessionDep,
    settings: SettingsDep,
    paths: PushPathsDep,
    clock: ClockDep,
    _: OperatorOrScriptAuth,
) -> PushOutboxV1:
    """Record what would be sent (PUSH_OUTBOX_V1 + preview); sends nothing."""
    outbox, _preview = await run_outbox(session, settings, paths, clock.now())
    return outbox


@router.get("/outbox/latest")
async def outbox_latest(paths: PushPathsDep, _: ReadAuth) -> PushOutboxV1:
    return read_latest(paths, OUTBOX_LATEST, PushOutboxV1, "outbox run")


@router.get("/preview/latest")
async def preview_latest(paths: PushPathsDep, _: ReadAuth) -> PushPreviewV1:
    return read_latest(paths, PREVIEW_LATEST, PushPreviewV1, "preview (run the outbox first)")


@router.post("/self-test")
async def self_test(
    session: SessionDep,
    settings: SettingsDep,
    telegram: TelegramDep,
    paths: PushPathsDep,
    clock: ClockDep,
    _: OperatorOrScriptAuth,
) -> PushSelfTestV1:
    return await run_self_test(session, settings, telegram, paths, clock.now())


@router.get("/self-test/latest")
async def self_test_latest(paths: PushPathsDep, _: ReadAuth) -> PushSelfTestV1:
    return read_latest(paths, SELF_TEST_LATEST, PushSelfTestV1, "self-test")


def _configured_chat(settings: SettingsDep) -> str | None:
    chat = settings.TELEGRAM_CHAT_ID
    return chat.get_secret_value() if chat is not None else None


@router.get("/gates")
async def get_gates(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, _: ReadAuth
) -> GateOut:
    view = await gates.current_view(session, clock.now(), _configured_chat(settings))
    return GateOut.model_validate(view)


@router.patch("/gates")
async def patch_gates(
    body: GateUpdate, session: SessionDep, settings: SettingsDep, clock: ClockDep, who: OperatorAuth
) -> GateOut:
    await gates.update_gate(session, body, actor=who.name, now=clock.now())
    view = await gates.current_view(session, clock.now(), _configured_chat(settings))
    return GateOut.model_validate(view)


@router.post("/gates/window", status_code=201)
async def open_window(
    body: WindowOpen, session: SessionDep, clock: ClockDep, who: OperatorAuth
) -> WindowOut:
    window = await gates.open_window(session, body, actor=who.name, now=clock.now())
    return WindowOut.model_validate(gates.window_view(window, clock.now()))


@router.delete("/gates/window")
async def close_window(session: SessionDep, clock: ClockDep, who: OperatorAuth) -> WindowClosed:
    closed = await gates.close_window(session, actor=who.name, now=clock.now())
    return WindowClosed(closed_window_id=closed)


@router.get("/gates/audit")
async def gate_audit(
    session: SessionDep, _: ReadAuth, limit: Limit = 50, offset: Offset = 0
) -> AuditPage:
    return AuditPage.model_validate(await gates.list_audit(session, limit=limit, offset=offset))


@router.post("/send")
async def send(
    session: SessionDep,
    settings: SettingsDep,
    telegram: TelegramDep,
    paths: PushPathsDep,
    clock: ClockDep,
    _: OperatorOrScriptAuth,
    confirm: bool = False,
) -> SendAnswer:
    """Send the latest outbox through the gates; one receipt per message."""
    if not confirm:
        raise Unprocessable("sending needs confirm=true")
    receipts = await run_send(session, settings, telegram, paths, clock)
    counts: dict[str, int] = {}
    for receipt in receipts:
        counts[receipt.decision.value] = counts.get(receipt.decision.value, 0) + 1
    return SendAnswer(summary=counts, receipts=receipts)


@router.get("/send/latest")
async def send_latest(paths: PushPathsDep, _: ReadAuth) -> PushSendReceiptV1:
    return read_latest(paths, SEND_LATEST, PushSendReceiptV1, "send receipt")


@router.get("/receipts")
async def receipts(
    session: SessionDep,
    _: ReadAuth,
    decision: Decision | None = None,
    blocked_reason: BlockedReason | None = None,
    message_id: Annotated[str | None, Query(max_length=36)] = None,
    since: AwareDatetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ReceiptPage:
    page = await list_receipts(
        session,
        decision=decision,
        blocked_reason=blocked_reason,
        message_id=message_id,
        since=since,
        limit=limit,
        offset=offset,
    )
    return ReceiptPage.model_validate(page)


@router.get("/evidence/latest")
async def evidence_latest(paths: PushPathsDep, _: ReadAuth) -> EvidenceIndexV1:
    return read_latest(paths, EVIDENCE_INDEX_LATEST, EvidenceIndexV1, "evidence index")
