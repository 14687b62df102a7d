"""Gate state in PostgreSQL (shared by replicas): mode, sender switch, emergency stop, allowlists,
the one-shot send window, and the pure checks that turn them into a `blocked_reason`."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound
from app.push.models import PushGate, PushGateAudit, PushSelfTest, PushSendWindow
from app.push.schemas import BlockedReason, GateMode, GateUpdate, WindowOpen

GATE_ID = 1


def chat_hash(chat_id: str) -> str:
    """Stable fingerprint of a chat id: allowlists compare these, never the id in clear."""
    return "sha256:" + hashlib.sha256(chat_id.strip().encode()).hexdigest()


async def lock_gate(session: AsyncSession) -> PushGate:
    """The gate row, created with safe defaults on first use, locked for this transaction."""
    await session.execute(pg_insert(PushGate).values(id=GATE_ID).on_conflict_do_nothing())
    gate = await session.scalar(select(PushGate).where(PushGate.id == GATE_ID).with_for_update())
    assert gate is not None  # type narrowing  # nosec B101
    return gate


async def read_gate(session: AsyncSession, *, share: bool = False) -> PushGate:
    """The gate row (created with defaults when missing); `share` holds its share lock."""
    await session.execute(pg_insert(PushGate).values(id=GATE_ID).on_conflict_do_nothing())
    # populate_existing: a row already in the session is refreshed, never served stale.
    query = select(PushGate).where(PushGate.id == GATE_ID).execution_options(populate_existing=True)
    gate = await session.scalar(query.with_for_update(read=True) if share else query)
    assert gate is not None  # type narrowing  # nosec B101
    return gate


async def open_window_row(session: AsyncSession) -> PushSendWindow | None:
    """The open window as the database has it now (a loaded copy is refreshed)."""
    query = select(PushSendWindow).where(PushSendWindow.open_slot == 1)
    return await session.scalar(query.execution_options(populate_existing=True))


def window_view(window: PushSendWindow | None, now: datetime) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "window_id": window.id,
        "opened_at": window.opened_at.isoformat(),
        "expires_at": window.expires_at.isoformat(),
        "budget": window.budget,
        "used": window.used,
        "remaining": max(0, window.budget - window.used),
        "expired": window.expires_at <= now,
        "opened_by": window.opened_by,
    }


def gate_view(
    gate: PushGate, window: PushSendWindow | None, now: datetime, configured_chat: str | None
) -> dict[str, Any]:
    """The API's view: the configured chat is reported as allowed or not, never by value."""
    return {
        "mode": gate.mode,
        "sender_enabled": gate.sender_enabled,
        "emergency_stop": gate.emergency_stop,
        "allowlist_chat_hashes": list(gate.allowlist_chat_hashes),
        "allowlist_push_types": list(gate.allowlist_push_types),
        "configured_chat_allowed": (
            configured_chat is not None and chat_hash(configured_chat) in gate.allowlist_chat_hashes
        ),
        "version": gate.version,
        "updated_at": gate.updated_at.isoformat(),
        "updated_by": gate.updated_by,
        "window": window_view(window, now),
    }


async def current_view(
    session: AsyncSession, now: datetime, configured_chat: str | None
) -> dict[str, Any]:
    """The gate and its open window as the API shows them, read in one transaction."""
    async with session.begin():
        gate = await read_gate(session)
        window = await open_window_row(session)
    return gate_view(gate, window, now, configured_chat)


def _audit(
    actor: str, action: str, changes: dict[str, Any], reason: str | None, now: datetime
) -> PushGateAudit:
    return PushGateAudit(at=now, actor=actor, action=action, changes=changes, reason=reason)


async def update_gate(
    session: AsyncSession, change: GateUpdate, *, actor: str, now: datetime
) -> PushGate:
    """Apply the given fields under the row lock and record what changed (from -> to)."""
    wanted: dict[str, Any] = {}
    if change.mode is not None:
        wanted["mode"] = change.mode.value
    if change.sender_enabled is not None:
        wanted["sender_enabled"] = change.sender_enabled
    if change.emergency_stop is not None:
        wanted["emergency_stop"] = change.emergency_stop
    if change.allowlist_chat_ids is not None:
        wanted["allowlist_chat_hashes"] = sorted({chat_hash(c) for c in change.allowlist_chat_ids})
    if change.allowlist_push_types is not None:
        wanted["allowlist_push_types"] = sorted({t.value for t in change.allowlist_push_types})
    async with session.begin():
        gate = await lock_gate(session)
        diff = {
            key: {"from": getattr(gate, key), "to": value}
            for key, value in wanted.items()
            if getattr(gate, key) != value
        }
        for key, value in wanted.items():
            setattr(gate, key, value)
        if diff:
            gate.version += 1
            gate.updated_at = now
            gate.updated_by = actor
            session.add(_audit(actor, "gate_update", diff, change.reason, now))
    return gate


async def open_window(
    session: AsyncSession, request: WindowOpen, *, actor: str, now: datetime
) -> PushSendWindow:
    """Open a one-shot window, closing any earlier one; one open window at a time (unique slot)."""
    window = PushSendWindow(
        id=str(uuid.uuid4()),
        opened_at=now,
        expires_at=now + timedelta(seconds=request.ttl_seconds),
        budget=request.budget,
        used=0,
        opened_by=actor,
        open_slot=1,
    )
    try:
        async with session.begin():
            closed = await _close_open(session, now)
            session.add(window)
            changes = {
                "window_id": window.id,
                "ttl_seconds": request.ttl_seconds,
                "budget": request.budget,
                "replaced": closed,
            }
            session.add(_audit(actor, "window_open", changes, request.reason, now))
    except IntegrityError:
        raise Conflict("another send window was opened at the same moment; retry") from None
    return window


async def _close_open(session: AsyncSession, now: datetime) -> str | None:
    statement = (
        update(PushSendWindow)
        .where(PushSendWindow.open_slot == 1)
        .values(open_slot=None, closed_at=now)
        .returning(PushSendWindow.id)
    )
    closed: str | None = (await session.execute(statement)).scalar_one_or_none()
    await session.flush()
    return closed


async def close_window(session: AsyncSession, *, actor: str, now: datetime) -> str:
    """Close the open window before its budget or TTL runs out."""
    async with session.begin():
        closed = await _close_open(session, now)
        if closed is None:
            raise NotFound("no send window is open")
        session.add(_audit(actor, "window_close", {"window_id": closed}, None, now))
    return closed


async def consume_window(session: AsyncSession, now: datetime) -> str | None:
    """Take one unit of the open window's budget atomically; None when nothing is left.

    One UPDATE with the budget in its WHERE clause: concurrent senders serialise on the row and
    re-check the condition, so the budget can never be overdrawn (the CHECK backs this up).
    """
    spent = PushSendWindow.used + 1 >= PushSendWindow.budget
    statement = (
        update(PushSendWindow)
        .where(
            PushSendWindow.open_slot == 1,
            PushSendWindow.expires_at > now,
            PushSendWindow.used < PushSendWindow.budget,
        )
        .values(
            used=PushSendWindow.used + 1,
            closed_at=case((spent, now), else_=None),
            open_slot=case((spent, None), else_=PushSendWindow.open_slot),
        )
        .returning(PushSendWindow.id)
    )
    consumed: str | None = (await session.execute(statement)).scalar_one_or_none()
    return consumed


async def list_audit(session: AsyncSession, *, limit: int, offset: int) -> dict[str, Any]:
    async with session.begin():
        total = await session.scalar(select(func.count()).select_from(PushGateAudit)) or 0
        rows = (
            await session.scalars(
                select(PushGateAudit).order_by(PushGateAudit.id.desc()).limit(limit).offset(offset)
            )
        ).all()
    items = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "changes": r.changes,
            "reason": r.reason,
        }
        for r in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def self_test_passed(session: AsyncSession, now: datetime, max_age_seconds: int) -> bool:
    """The newest self-test passed and is recent enough."""
    latest = await session.scalar(select(PushSelfTest).order_by(PushSelfTest.seq.desc()).limit(1))
    return (
        latest is not None
        and latest.decision == "SELF_TEST_PASS"
        and latest.asof >= now - timedelta(seconds=max_age_seconds)
    )


@dataclass(frozen=True)
class GateSnapshot:
    """Everything the send decision reads, taken afresh for each message."""

    mode: str
    sender_enabled: bool
    emergency_stop: bool
    self_test_ok: bool
    chat_allowed: bool
    allowed_push_types: frozenset[str]


def run_blocked_reason(snapshot: GateSnapshot, has_messages: bool) -> BlockedReason | None:
    """Gates that apply to the whole run, in contract C's order."""
    if snapshot.emergency_stop:
        return BlockedReason.EMERGENCY_STOP
    if snapshot.mode != GateMode.REAL_ENABLED:
        return BlockedReason.NOT_REAL_GATE
    if not snapshot.sender_enabled:
        return BlockedReason.SENDER_DISABLED
    if not snapshot.self_test_ok:
        return BlockedReason.SELF_TEST_FAIL
    if not has_messages:
        return BlockedReason.NO_MESSAGES
    return None


def message_blocked_reason(
    snapshot: GateSnapshot, *, push_type: str, window_left: int, secret_suspected: bool
) -> BlockedReason | None:
    """Gates that apply to one message, continuing contract C's order."""
    if not snapshot.chat_allowed or push_type not in snapshot.allowed_push_types:
        return BlockedReason.ALLOWLIST_VIOLATION
    if window_left <= 0:
        return BlockedReason.WINDOW_CONSUMED
    if secret_suspected:
        return BlockedReason.SECRET_INJECTION_SUSPECTED
    return None
