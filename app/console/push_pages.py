"""Console push page: gates, emergency stop, self-test, outbox preview, receipts, ops summary."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console.render import render
from app.console.session import ConsoleAuth, ConsoleWrite, redirect_with_flash
from app.core.db import SessionDep
from app.core.deps import ClockDep, SettingsDep
from app.core.errors import AppError
from app.core.files import read_json
from app.core.settings import Settings
from app.ops.schemas import OpsSummaryV1
from app.ops.summary import build_summary
from app.push import gates
from app.push.deps import PushPathsDep, TelegramDep
from app.push.incident_read import list_pushes
from app.push.outbox import run_outbox
from app.push.paths import PREVIEW_LATEST, SELF_TEST_LATEST
from app.push.queue import list_messages
from app.push.receipts import list_receipts
from app.push.schemas import GateUpdate
from app.push.self_test import run_self_test
from app.push.send import run_send

router = APIRouter(prefix="/console/push", include_in_schema=False)


def _back(request: Request, **params: str) -> RedirectResponse:
    return redirect_with_flash(request, "/console/push", **params)


async def ops_summary(session: SessionDep, settings: Settings, now: datetime) -> OpsSummaryV1:
    """The same checks as GET /api/ops/summary (without rewriting its report file)."""
    return await build_summary(session, settings, now)


@router.get("")
async def push_page(
    request: Request,
    user: ConsoleAuth,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    paths: PushPathsDep,
) -> HTMLResponse:
    now = clock.now()
    async with session.begin():
        gate = await gates.read_gate(session)
        window = await gates.open_window_row(session)
    chat = settings.TELEGRAM_CHAT_ID
    view = gates.gate_view(gate, window, now, chat.get_secret_value() if chat else None)
    messages = await list_messages(session, status=None, limit=20, offset=0)
    receipts = await list_receipts(
        session,
        decision=None,
        blocked_reason=None,
        message_id=None,
        since=None,
        limit=20,
        offset=0,
    )
    return render(
        request,
        "push.html",
        user,
        gate=view,
        messages=messages["items"],
        receipts=receipts["items"],
        preview=read_json(paths.abs(PREVIEW_LATEST)),
        self_test=read_json(paths.abs(SELF_TEST_LATEST)),
        incident_pushes=(await list_pushes(session, kind=None, day=None, limit=10, offset=0)).items,
        summary=await ops_summary(session, settings, now),
    )


@router.post("/emergency-stop")
async def emergency_stop(
    request: Request, writer: ConsoleWrite, session: SessionDep, clock: ClockDep
) -> Response:
    """Engage or release the emergency stop; the form must carry confirm=yes."""
    user, form = writer
    engage = form.get("engage") == "true"
    if form.get("confirm") != "yes":
        return _back(request, error="the emergency stop needs the confirmation box ticked")
    reason = form.get("reason", "").strip()[:200] or "from the console"
    change = GateUpdate(emergency_stop=engage, reason=reason)
    await gates.update_gate(session, change, actor=user.name, now=clock.now())
    return _back(request, done="emergency stop engaged" if engage else "emergency stop released")


@router.post("/self-test")
async def self_test(
    request: Request,
    writer: ConsoleWrite,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    telegram: TelegramDep,
    paths: PushPathsDep,
) -> Response:
    result = await run_self_test(session, settings, telegram, paths, clock.now())
    return _back(request, done=f"self-test: {result.decision}")


@router.post("/outbox")
async def outbox(
    request: Request,
    writer: ConsoleWrite,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    paths: PushPathsDep,
) -> Response:
    """Record what would be sent (outbox + preview); sends nothing."""
    built, _ = await run_outbox(session, settings, paths, clock.now())
    return _back(request, done=f"outbox recorded: {built.summary.total_messages} message(s)")


@router.post("/send")
async def send(
    request: Request,
    writer: ConsoleWrite,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    telegram: TelegramDep,
    paths: PushPathsDep,
) -> Response:
    """Send the latest outbox through every gate (confirm=yes required), as the API does."""
    _, form = writer
    if form.get("confirm") != "yes":
        return _back(request, error="sending needs the confirmation box ticked")
    try:
        receipts = await run_send(session, settings, telegram, paths, clock)
    except AppError as exc:
        return _back(request, error=exc.reason)
    outcome = ", ".join(
        f"{r.decision.value}{' ' + r.blocked_reason.value if r.blocked_reason else ''}"
        for r in receipts
    )
    return _back(request, done=f"send: {outcome or 'no receipt'}")
