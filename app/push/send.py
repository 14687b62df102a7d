"""Send: the latest outbox's messages through the gates (contract C's order) to Telegram.

Everything a message's fate depends on is read when that message is claimed, not once per run:
the gates (an emergency stop set mid-run stops the next message), the window and its expiry,
the self-test's age, and the clock the claim's lease counts from. Exactly-once lives in
PostgreSQL: one short transaction re-reads the gates (sharing the gate row's lock, so a stop
that committed is seen), claims the message (PENDING -> SENDING) and spends a window unit; a
partial unique index allows one SENT receipt per message. A claim whose sender died is settled
UNCONFIRMED, never re-sent (at-most-once; app/push/claims.py says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.owner import make_owner
from app.core.settings import Settings
from app.push.claims import claim, record_outcome, settle_abandoned
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
from app.push.schemas import (
    BlockedReason,
    Decision,
    MessageStatus,
    PushSendReceiptV1,
    SecretsStatus,
)
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
    clock: Clock
    secrets: SecretsStatus
    refs: list[str]
    owner: str

    def receipt(
        self,
        candidate: Candidate | None,
        decision: Decision,
        reason: BlockedReason | None = None,
        *,
        now: datetime,
        **error: str | int | None,
    ) -> PushSendReceiptV1:
        return build_receipt(
            now=now,
            message_id=candidate.message_id if candidate else None,
            push_type=candidate.push_type if candidate else None,
            decision=decision,
            blocked_reason=reason,
            secrets=self.secrets,
            refs=self.refs,
            **error,  # type: ignore[arg-type]
        )


async def _gates(ctx: SendContext, now: datetime, *, share: bool) -> tuple[GateSnapshot, int]:
    """The gates and the window budget left at `now`, in the caller's transaction.

    `share` takes the gate row's share lock: a gate change waits for the claim, and a claim
    waits for a gate change in flight, so a committed stop is never missed.
    """
    chat = ctx.settings.TELEGRAM_CHAT_ID
    gate = await read_gate(ctx.session, share=share)
    window = await open_window_row(ctx.session)
    self_test_ok = await self_test_passed(
        ctx.session, now, ctx.settings.PUSH_SELF_TEST_MAX_AGE_SECONDS
    )
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
    if window is not None and window.expires_at > now:
        left = window.budget - window.used
    return snapshot, left


async def _start(
    ctx: SendContext, now: datetime
) -> tuple[GateSnapshot, list[Candidate], list[PushSendReceiptV1]]:
    """Settle dead senders' claims, then read the gates and the latest outbox's open messages."""
    async with ctx.session.begin():
        settled = await settle_abandoned(ctx.session, now, ctx.secrets, ctx.refs)
        snapshot, _left = await _gates(ctx, now, share=False)
        latest = await ctx.session.scalar(
            select(PushOutboxRun.outbox_id).order_by(PushOutboxRun.seq.desc()).limit(1)
        )
        rows = (
            await ctx.session.execute(
                select(PushOutboxItem, PushMessage)
                .join(PushMessage, PushMessage.id == PushOutboxItem.message_id)
                .where(
                    PushOutboxItem.outbox_id == latest,
                    PushMessage.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)),
                )
                .order_by(PushOutboxItem.position)
            )
        ).all()
    # Later UPDATEs go straight to the rows; stale loaded objects must not be synchronised.
    ctx.session.expunge_all()
    candidates = [
        Candidate(m.id, m.push_type, m.secret_suspected, item.body_html, item.body_plain)
        for item, m in rows
    ]
    return snapshot, candidates, settled


class _WindowSpent(Exception):
    """Raised inside the claim transaction to roll the claim back."""


async def _claim(
    ctx: SendContext, candidate: Candidate, now: datetime
) -> BlockedReason | str | None:
    """Re-check every gate, claim the message and spend a window unit in one transaction.

    None when the message may go out; a BlockedReason when a gate closed (checked afresh for
    this message), or "claimed" when another sender holds it.
    """
    try:
        async with ctx.session.begin():
            # The row lock first: a sender racing us for this message commits its claim (and
            # its window unit) before we look, so we see "claimed", never a spent window.
            status = await ctx.session.scalar(
                select(PushMessage.status)
                .where(PushMessage.id == candidate.message_id)
                .with_for_update()
            )
            if status != MessageStatus.PENDING:  # another sender holds or sent it
                return "claimed"
            snapshot, window_left = await _gates(ctx, now, share=True)
            reason = run_blocked_reason(snapshot, has_messages=True) or message_blocked_reason(
                snapshot,
                push_type=candidate.push_type,
                window_left=window_left,
                secret_suspected=candidate.secret_suspected,
            )
            if reason is not None:
                return reason
            lease = ctx.settings.PUSH_SEND_LEASE_SECONDS
            if not await claim(ctx.session, candidate.message_id, ctx.owner, now, lease):
                return "claimed"
            if await consume_window(ctx.session, now) is None:
                raise _WindowSpent  # rolls the claim back: nothing was sent
    except _WindowSpent:
        return BlockedReason.WINDOW_CONSUMED
    return None


async def _deliver(ctx: SendContext, candidate: Candidate) -> TelegramResult:
    chat = ctx.settings.TELEGRAM_CHAT_ID
    assert chat is not None  # the SELF_TEST_FAIL gate requires it  # nosec B101
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
    """Record the outcome and its receipt in one transaction.

    A failure known not to have reached Telegram frees the message (PENDING); one that may have
    (a read timeout after the request left) settles it UNCONFIRMED, never to be re-sent.
    """
    now = ctx.clock.now()
    if result.ok:
        receipt = ctx.receipt(candidate, Decision.SENT, now=now, http_status=result.http_status)
        telegram_id = result.result.get("message_id")
        values: dict[str, object] = {
            "status": MessageStatus.SENT,
            "sent_at": now,
            "telegram_message_id": telegram_id if isinstance(telegram_id, int) else None,
        }
    else:
        message = result.error_message
        if result.outcome_unknown:
            message = f"{message}; Telegram may have delivered it: not sent again (at-most-once)"
        receipt = ctx.receipt(
            candidate,
            Decision.FAILED,
            now=now,
            http_status=result.http_status,
            error_class=result.error_class,
            error_message=message,
        )
        values = {
            "status": MessageStatus.UNCONFIRMED if result.outcome_unknown else MessageStatus.PENDING
        }
    values["last_send_id"] = receipt.send_id
    async with ctx.session.begin():
        # Fenced on our claim: a send that outlived its lease may have been taken over.
        if await record_outcome(ctx.session, candidate.message_id, ctx.owner, values):
            ctx.session.add(receipt_row(receipt))  # a SKIPPED receipt is stored by the caller
            return receipt
    log.error("push claim lost during send", extra={"message_id": candidate.message_id})
    return ctx.receipt(
        candidate,
        Decision.SKIPPED,
        now=now,
        http_status=result.http_status,
        error_class="ClaimLost",
        error_message="the send outlived its claim; another sender took the message over",
    )


async def _send_one(ctx: SendContext, candidate: Candidate) -> PushSendReceiptV1:
    """SENT/FAILED receipts are stored with the outcome; SKIPPED/BLOCKED ones by the caller."""
    now = ctx.clock.now()  # this message's moment: gates, window expiry and lease count from it
    refused = await _claim(ctx, candidate, now)
    if refused == "claimed":
        return ctx.receipt(
            candidate,
            Decision.SKIPPED,
            now=now,
            error_class="AlreadyClaimed",
            error_message="another sender already sent or holds this message",
        )
    if isinstance(refused, BlockedReason):
        return ctx.receipt(candidate, Decision.BLOCKED, refused, now=now)
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
    clock: Clock,
) -> list[PushSendReceiptV1]:
    """Evaluate the gates, send what passes, and write one receipt per message (or NO_MESSAGES)."""
    ctx = SendContext(
        session=session,
        settings=settings,
        telegram=telegram,
        paths=paths,
        clock=clock,
        secrets=secrets_status(settings),
        refs=evidence_refs_for_send(paths),
        owner=make_owner(),
    )
    started = clock.now()
    snapshot, candidates, settled = await _start(ctx, started)
    receipts: list[PushSendReceiptV1] = list(settled)  # stored with the settlement
    pending_rows: list[PushSendReceiptV1] = []
    run_reason = run_blocked_reason(snapshot, has_messages=bool(candidates))
    if run_reason is BlockedReason.NO_MESSAGES:
        pending_rows.append(ctx.receipt(None, Decision.SKIPPED, run_reason, now=started))
    elif run_reason is not None:
        targets: list[Candidate | None] = list(candidates) or [None]
        pending_rows += [ctx.receipt(c, Decision.BLOCKED, run_reason, now=started) for c in targets]
    for candidate in candidates if run_reason is None else []:
        receipt = await _send_one(ctx, candidate)
        if receipt.decision in (Decision.SENT, Decision.FAILED):
            receipts.append(receipt)
        else:
            pending_rows.append(receipt)
    if pending_rows:
        async with session.begin():
            session.add_all([receipt_row(r) for r in pending_rows])
    receipts = sorted(receipts + pending_rows, key=lambda r: _order(r, candidates))
    for receipt in receipts:
        write_receipt_files(paths, receipt)
    rebuild_index(paths, clock.now())
    return receipts


def _order(receipt: PushSendReceiptV1, candidates: list[Candidate]) -> int:
    ids = [c.message_id for c in candidates]
    return ids.index(receipt.message_id) if receipt.message_id in ids else -1
