"""HTTP routes of the push pipeline: parameters, scopes and status codes only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from app.core.auth import OperatorAuth, OperatorOrScriptAuth, ReadAuth
from app.core.db import SessionDep
from app.core.deps import ClockDep, SettingsDep
from app.core.errors import NotFound, Unprocessable
from app.core.files import read_json
from app.push import gates
from app.push.deps import PushPathsDep, TelegramDep
from app.push.outbox import run_outbox
from app.push.paths import (
    EVIDENCE_INDEX_LATEST,
    OUTBOX_LATEST,
    PREVIEW_LATEST,
    SELF_TEST_LATEST,
    SEND_LATEST,
    PushPaths,
)
from app.push.queue import enqueue, list_messages
from app.push.receipts import list_receipts
from app.push.schemas import (
    BlockedReason,
    Decision,
    GateUpdate,
    MessageCreate,
    MessageStatus,
    PushOutboxV1,
    PushSelfTestV1,
    WindowOpen,
)
from app.push.self_test import run_self_test
from app.push.send import run_send

router = APIRouter(prefix="/api/push", tags=["push"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _latest(paths: PushPaths, relative: str, what: str) -> dict[str, Any]:
    document = read_json(paths.abs(relative))
    if document is None:
        raise NotFound(f"no {what} yet")
    return document


@router.post("/messages", status_code=201)
async def create_message(
    body: MessageCreate, response: Response, session: SessionDep, clock: ClockDep, _: OperatorAuth
) -> dict[str, Any]:
    """Queue a message; a repeated `dedup_key` answers 200 with the existing message id."""
    async with session.begin():
        queued = await enqueue(session, now=clock.now(), **body.model_dump())
    if not queued.created:
        response.status_code = 200
    return {"result": "OK", "message_id": queued.message_id, "created": queued.created}


@router.get("/messages")
async def get_messages(
    session: SessionDep,
    _: ReadAuth,
    status: MessageStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return await list_messages(session, status=status, limit=limit, offset=offset)


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
async def outbox_latest(paths: PushPathsDep, _: ReadAuth) -> dict[str, Any]:
    return _latest(paths, OUTBOX_LATEST, "outbox run")


@router.get("/preview/latest")
async def preview_latest(paths: PushPathsDep, _: ReadAuth) -> dict[str, Any]:
    return _latest(paths, PREVIEW_LATEST, "preview (run the outbox first)")


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
async def self_test_latest(paths: PushPathsDep, _: ReadAuth) -> dict[str, Any]:
    return _latest(paths, SELF_TEST_LATEST, "self-test")


async def _gate_view(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> dict[str, Any]:
    async with session.begin():
        gate = await gates.read_gate(session)
        window = await gates.open_window_row(session)
    chat = settings.TELEGRAM_CHAT_ID
    configured = chat.get_secret_value() if chat is not None else None
    return gates.gate_view(gate, window, clock.now(), configured)


@router.get("/gates")
async def get_gates(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, _: ReadAuth
) -> dict[str, Any]:
    return await _gate_view(session, settings, clock)


@router.patch("/gates")
async def patch_gates(
    body: GateUpdate, session: SessionDep, settings: SettingsDep, clock: ClockDep, who: OperatorAuth
) -> dict[str, Any]:
    await gates.update_gate(session, body, actor=who.name, now=clock.now())
    return await _gate_view(session, settings, clock)


@router.post("/gates/window", status_code=201)
async def open_window(
    body: WindowOpen, session: SessionDep, clock: ClockDep, who: OperatorAuth
) -> dict[str, Any]:
    window = await gates.open_window(session, body, actor=who.name, now=clock.now())
    view = gates.window_view(window, clock.now())
    assert view is not None  # type narrowing  # nosec B101
    return view


@router.delete("/gates/window")
async def close_window(session: SessionDep, clock: ClockDep, who: OperatorAuth) -> dict[str, Any]:
    closed = await gates.close_window(session, actor=who.name, now=clock.now())
    return {"result": "OK", "closed_window_id": closed}


@router.get("/gates/audit")
async def gate_audit(
    session: SessionDep, _: ReadAuth, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    return await gates.list_audit(session, limit=limit, offset=offset)


@router.post("/send")
async def send(
    session: SessionDep,
    settings: SettingsDep,
    telegram: TelegramDep,
    paths: PushPathsDep,
    clock: ClockDep,
    _: OperatorOrScriptAuth,
    confirm: bool = False,
) -> dict[str, Any]:
    """Send the latest outbox through the gates; one receipt per message."""
    if not confirm:
        raise Unprocessable("sending needs confirm=true")
    receipts = await run_send(session, settings, telegram, paths, clock)
    counts: dict[str, int] = {}
    for receipt in receipts:
        counts[receipt.decision.value] = counts.get(receipt.decision.value, 0) + 1
    return {
        "result": "OK",
        "summary": counts,
        "receipts": [r.model_dump(mode="json") for r in receipts],
    }


@router.get("/send/latest")
async def send_latest(paths: PushPathsDep, _: ReadAuth) -> dict[str, Any]:
    return _latest(paths, SEND_LATEST, "send receipt")


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
) -> dict[str, Any]:
    return await list_receipts(
        session,
        decision=decision,
        blocked_reason=blocked_reason,
        message_id=message_id,
        since=since,
        limit=limit,
        offset=offset,
    )


@router.get("/evidence/latest")
async def evidence_latest(paths: PushPathsDep, _: ReadAuth) -> dict[str, Any]:
    return _latest(paths, EVIDENCE_INDEX_LATEST, "evidence index")
