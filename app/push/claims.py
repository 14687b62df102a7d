"""A message's claim in PostgreSQL: taken per message just before its HTTP call, settled if its
sender died.

Delivery semantics, chosen for Telegram. `sendMessage` has no idempotency key: when a sender
dies after its claim, or a call ends in a read timeout after the request left, nobody can know
whether the chat got the message. Re-sending it (at-least-once) risks a duplicate in the
operators' chat and spends window budget the operator granted for one message; never re-sending
(at-most-once) risks a message nobody saw. We choose at-most-once and make the doubt visible:
such a message is settled `UNCONFIRMED` with a FAILED receipt (`SendOutcomeUnknown`, or the
transport error) that says it may have been delivered, and is never sent again on its own; an
operator who finds it missing in the chat queues it again. Outcomes known not to have reached
Telegram (connection refused, 4xx, 429, a 5xx answer) return the message to PENDING.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.push.models import PushMessage
from app.push.receipts import build_receipt, receipt_row
from app.push.schemas import (
    Decision,
    MessageStatus,
    PushSendReceiptV1,
    PushType,
    SecretsStatus,
)

UNKNOWN_OUTCOME = "SendOutcomeUnknown"
UNKNOWN_OUTCOME_MESSAGE = (
    "the sender stopped mid-send and its claim expired; Telegram may or may not have delivered "
    "the message; it is not sent again (at-most-once): queue it again if the chat lacks it"
)


async def claim(
    session: AsyncSession, message_id: str, owner: str, now: datetime, lease_seconds: int
) -> bool:
    """PENDING -> SENDING, the lease counted from this claim (not from the run's start).

    Only PENDING is claimable: a SENDING message whose lease passed is settled, never re-sent.
    """
    claimed = await session.scalar(
        update(PushMessage)
        .where(PushMessage.id == message_id, PushMessage.status == MessageStatus.PENDING)
        .values(
            status=MessageStatus.SENDING,
            claimed_until=now + timedelta(seconds=lease_seconds),
            claim_owner=owner,
            attempts=PushMessage.attempts + 1,
        )
        .returning(PushMessage.id)
    )
    return claimed is not None


async def settle_abandoned(
    session: AsyncSession, now: datetime, secrets: SecretsStatus, refs: list[str]
) -> list[PushSendReceiptV1]:
    """Claims whose lease passed become UNCONFIRMED, each with a FAILED receipt stored in the
    caller's transaction (the caller writes the receipt files after its commit).

    Rows another settler or a late finisher holds are skipped: they are being settled already.
    """
    rows = (
        await session.execute(
            select(PushMessage.id, PushMessage.push_type)
            .where(PushMessage.status == MessageStatus.SENDING, PushMessage.claimed_until < now)
            .order_by(PushMessage.seq)
            .with_for_update(skip_locked=True)
        )
    ).all()
    receipts = []
    for message_id, push_type in rows:
        receipt = build_receipt(
            now=now,
            message_id=message_id,
            push_type=PushType(push_type),
            decision=Decision.FAILED,
            blocked_reason=None,
            secrets=secrets,
            refs=refs,
            error_class=UNKNOWN_OUTCOME,
            error_message=UNKNOWN_OUTCOME_MESSAGE,
        )
        # claim_owner stays: a sender that was only slow may still record what really happened.
        await session.execute(
            update(PushMessage)
            .where(PushMessage.id == message_id)
            .values(status=MessageStatus.UNCONFIRMED, last_send_id=receipt.send_id)
        )
        session.add(receipt_row(receipt))
        receipts.append(receipt)
    return receipts


async def record_outcome(
    session: AsyncSession, message_id: str, owner: str, values: dict[str, Any]
) -> bool:
    """Store the send's outcome if the claim is still ours (also after it was settled meanwhile)."""
    updated = await session.scalar(
        update(PushMessage)
        .where(
            PushMessage.id == message_id,
            PushMessage.claim_owner == owner,
            PushMessage.status.in_((MessageStatus.SENDING, MessageStatus.UNCONFIRMED)),
        )
        .values(claimed_until=None, claim_owner=None, **values)
        .returning(PushMessage.id)
    )
    return updated is not None
