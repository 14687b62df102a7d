"""Send: the latest outbox's messages through the gates (contract C's order) to Telegram.

Exactly-once lives in PostgreSQL: a message is claimed (PENDING -> SENDING) and a unit of the
send window consumed in one short transaction before the HTTP call; the claim's WHERE clause and
the window's budget check make concurrent senders (other replicas, retries) skip what another
already holds, and a partial unique index allows one SENT receipt per message.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from app.push.evidence import evidence_refs_for_send, rebuild_index
from app.push.gates import (
    GateSnapshot,
    chat_hash,
    consume_window,
    message_blocked_reason,
    open_window_row,
    read_gate,
    run_blocked_reason,
    self_test_passed,
)
from app.push.models import PushMessage, PushOutboxItem, PushOutboxRun
from app.push.paths import PushPaths
from app.push.receipts import build_receipt, receipt_row, secrets_status, write_receipt_files
from app.push.schemas import BlockedReason, Decision, PushSendReceiptV1, SecretsStatus
from app.push.telegram import TelegramClient, TelegramResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    message_id: str
    push_type: str
    secret_suspected: bool
    body_html: str
    body_plain: str


@dataclass
class SendContext:
    session: AsyncSession
    settings: Settings
    telegram: TelegramClient
    paths: PushPaths
    now: datetime
    secrets: SecretsStatus
    refs: list[str]
    owner: str

    def receipt(
        self,
        candidate: Candidate | None,
        decision: Decision,
        reason: BlockedReason | None = None,
        **error: str | int | None,
    ) -> PushSendReceiptV1:
        return build_receipt(
            now=self.now,
            message_id=candidate.message_id if candidate else None,
            push_type=candidate.push_type if candidate else None,
            decision=decision,
            blocked_reason=reason,
            secrets=self.secrets,
            refs=self.refs,
            **error,  # type: ignore[arg-type]
        )


async def _snapshot(ctx: SendContext) -> tuple[GateSnapshot, int, list[Candidate]]:
    """Gate state, window budget left and the latest outbox's unsent messages, read once."""
    chat = ctx.settings.TELEGRAM_CHAT_ID
    async with ctx.session.begin():
        gate = await read_gate(ctx.session)
        window = await open_window_row(ctx.session)
        self_test_ok = await self_test_passed(
            ctx.session, ctx.now, ctx.settings.PUSH_SELF_TEST_MAX_AGE_SECONDS
        )
        latest = await ctx.session.scalar(
            select(PushOutboxRun.outbox_id).order_by(PushOutboxRun.seq.desc()).limit(1)
        )
        rows = (
            await ctx.session.execute(
                select(PushOutboxItem, PushMessage)
                .join(PushMessage, PushMessage.id == PushOutboxItem.message_id)
                .where(PushOutboxItem.outbox_id == latest, PushMessage.status != "SENT")
                .order_by(PushOutboxItem.position)
            )
        ).all()
    # Later UPDATEs go straight to the rows; stale loaded objects must not be synchronised.
    ctx.session.expunge_all()
    snapshot = GateSnapshot(
        mode=gate.mode,
        sender_enabled=gate.sender_enabled,
        emergency_stop=gate.emergency_stop,
        # The self-test's first check is secret presence; a restart without them undoes a pass.
        self_test_ok=self_test_ok
        and ctx.secrets.TELEGRAM_BOT_TOKEN
        and ctx.secrets.TELEGRAM_CHAT_ID,
        chat_allowed=chat is not None
        and chat_hash(chat.get_secret_value()) in gate.allowlist_chat_hashes,
        allowed_push_types=frozenset(gate.allowlist_push_types),
    )
    left = 0
    if window is not None and window.expires_at > ctx.now:
        left = window.budget - window.used
    candidates = [
        Candidate(m.id, m.push_type, m.secret_suspected, item.body_html, item.body_plain)
        for item, m in rows
    ]
    return snapshot, left, candidates


class _WindowSpent(Exception):
    """Raised inside the claim transaction to roll the claim back."""


async def _claim(ctx: SendContext, candidate: Candidate) -> str | None:
    """Claim the message and spend a window unit together; a reason string when we may not send."""
    lease_until = ctx.now + timedelta(seconds=ctx.settings.PUSH_SEND_LEASE_SECONDS)
    try:
        async with ctx.session.begin():
            claimed = await ctx.session.scalar(
                update(PushMessage)
                .where(
                    PushMessage.id == candidate.message_id,
                    or_(
                        PushMessage.status == "PENDING",
                        (PushMessage.status == "SENDING") & (PushMessage.claimed_until < ctx.now),
                    ),
                )
                .values(
                    status="SENDING",
                    claimed_until=lease_until,
                    claim_owner=ctx.owner,
                    attempts=PushMessage.attempts + 1,
                )
                .returning(PushMessage.id)
            )
            if claimed is None:
                return "claimed"
            if await consume_window(ctx.session, ctx.now) is None:
                raise _WindowSpent  # rolls the claim back: nothing was sent
    except _WindowSpent:
        return "window"
    return None


async def _deliver(ctx: SendContext, candidate: Candidate) -> TelegramResult:
    chat = ctx.settings.TELEGRAM_CHAT_ID
    assert chat is not None  # the SELF_TEST_FAIL gate requires it
    result = await ctx.telegram.send_message(
        chat.get_secret_value(), candidate.body_html, html=True
    )
    if result.cant_parse_entities:
        log.warning(
            "telegram rejected HTML, sending plain text", extra={"message_id": candidate.message_id}
        )
        result = await ctx.telegram.send_message(
            chat.get_secret_value(), candidate.body_plain, html=False
        )
    return result


async def _finish(
    ctx: SendContext, candidate: Candidate, result: TelegramResult
) -> PushSendReceiptV1:
    """Record the outcome and its receipt in one transaction; a failure frees the message."""
    if result.ok:
        receipt = ctx.receipt(candidate, Decision.SENT, http_status=result.http_status)
        telegram_id = result.result.get("message_id")
        values: dict[str, object] = {
            "status": "SENT",
            "sent_at": ctx.now,
            "telegram_message_id": telegram_id if isinstance(telegram_id, int) else None,
        }
    else:
        receipt = ctx.receipt(
            candidate,
            Decision.FAILED,
            http_status=result.http_status,
            error_class=result.error_class,
            error_message=result.error_message,
        )
        values = {"status": "PENDING"}
    values.update(claimed_until=None, claim_owner=None, last_send_id=receipt.send_id)
    async with ctx.session.begin():
        # Fenced on our claim: a send that outlived its lease may have been taken over.
        updated = await ctx.session.scalar(
            update(PushMessage)
            .where(PushMessage.id == candidate.message_id, PushMessage.claim_owner == ctx.owner)
            .values(**values)
            .returning(PushMessage.id)
        )
        if updated is None:
            log.error("push claim lost during send", extra={"message_id": candidate.message_id})
            receipt = ctx.receipt(
                candidate,
                Decision.SKIPPED,
                http_status=result.http_status,
                error_class="ClaimLost",
                error_message="the send outlived its claim; another sender took the message over",
            )
        else:
            ctx.session.add(receipt_row(receipt))  # a SKIPPED receipt is stored by the caller
    return receipt


async def _send_one(ctx: SendContext, candidate: Candidate) -> PushSendReceiptV1:
    """SENT/FAILED receipts are stored with the outcome; SKIPPED/BLOCKED ones by the caller."""
    refused = await _claim(ctx, candidate)
    if refused == "claimed":
        return ctx.receipt(
            candidate,
            Decision.SKIPPED,
            error_class="AlreadyClaimed",
            error_message="another sender already sent or holds this message",
        )
    if refused == "window":
        return ctx.receipt(candidate, Decision.BLOCKED, BlockedReason.WINDOW_CONSUMED)
    result = await _deliver(ctx, candidate)
    log.info(
        "push send attempt",
        extra={"message_id": candidate.message_id, "ok": result.ok, "status": result.http_status},
    )
    return await _finish(ctx, candidate, result)


async def run_send(
    session: AsyncSession,
    settings: Settings,
    telegram: TelegramClient,
    paths: PushPaths,
    now: datetime,
) -> list[PushSendReceiptV1]:
    """Evaluate the gates, send what passes, and write one receipt per message (or NO_MESSAGES)."""
    ctx = SendContext(
        session=session,
        settings=settings,
        telegram=telegram,
        paths=paths,
        now=now,
        secrets=secrets_status(settings),
        refs=evidence_refs_for_send(paths),
        owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
    )
    snapshot, window_left, candidates = await _snapshot(ctx)
    receipts: list[PushSendReceiptV1] = []
    pending_rows: list[PushSendReceiptV1] = []
    run_reason = run_blocked_reason(snapshot, has_messages=bool(candidates))
    if run_reason is BlockedReason.NO_MESSAGES:
        pending_rows.append(ctx.receipt(None, Decision.SKIPPED, run_reason))
    elif run_reason is not None:
        targets: list[Candidate | None] = list(candidates) or [None]
        pending_rows += [ctx.receipt(c, Decision.BLOCKED, run_reason) for c in targets]
    for candidate in candidates if run_reason is None else []:
        reason = message_blocked_reason(
            snapshot,
            push_type=candidate.push_type,
            window_left=window_left,
            secret_suspected=candidate.secret_suspected,
        )
        if reason is not None:
            pending_rows.append(ctx.receipt(candidate, Decision.BLOCKED, reason))
            continue
        receipt = await _send_one(ctx, candidate)
        if receipt.decision in (Decision.SENT, Decision.FAILED):
            window_left -= 1
            receipts.append(receipt)
        else:
            pending_rows.append(receipt)
    if pending_rows:
        async with session.begin():
            session.add_all([receipt_row(r) for r in pending_rows])
    receipts = sorted(receipts + pending_rows, key=lambda r: _order(r, candidates))
    for receipt in receipts:
        write_receipt_files(paths, receipt)
    rebuild_index(paths, now)
    return receipts


def _order(receipt: PushSendReceiptV1, candidates: list[Candidate]) -> int:
    ids = [c.message_id for c in candidates]
    return ids.index(receipt.message_id) if receipt.message_id in ids else -1
