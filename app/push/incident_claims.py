"""The day's claim on `incident_<KIND>_YYYYMMDD` per channel, in PostgreSQL.

pending -> delivered uses the day's key; pending -> failed releases it (the next call retries);
a pending claim whose owner died is taken over once its lease has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import day_key
from app.push.incident_models import IncidentPushClaim, IncidentPushRecord
from app.push.incident_schemas import IncidentKind

TELEGRAM = "telegram"
SLACK = "slack"


def idempotency_key(kind: IncidentKind, now: datetime, zone: str) -> str:
    """`incident_<KIND>_YYYYMMDD`, the day taken in `zone` (the TIMEZONE setting)."""
    return f"incident_{kind.value}_{day_key(now, zone)}"


async def take(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    kind: IncidentKind,
    owner: str,
    now: datetime,
    lease_seconds: float,
) -> bool:
    """True when this caller now holds the claim and may send; one short transaction.

    Concurrent INSERTs of one key serialise on the primary key; the loser re-evaluates the
    WHERE clause against the winner's committed row (pending, lease live) and gets nothing.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    stmt = insert(IncidentPushClaim).values(
        idempotency_key=key,
        channel=channel,
        kind=kind.value,
        state="pending",
        owner=owner,
        lease_until=lease_until,
        attempts=1,
        created_at=now,
        updated_at=now,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[IncidentPushClaim.idempotency_key, IncidentPushClaim.channel],
        set_={
            "state": "pending",
            "owner": owner,
            "lease_until": lease_until,
            "attempts": IncidentPushClaim.attempts + 1,
            "updated_at": now,
        },
        where=or_(
            IncidentPushClaim.state == "failed",
            (IncidentPushClaim.state == "pending") & (IncidentPushClaim.lease_until < now),
        ),
    ).returning(IncidentPushClaim.idempotency_key)
    async with session.begin():
        won = await session.scalar(upsert)
    return won is not None


async def settle(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    owner: str,
    delivered: bool,
    push_id: str | None,
    error: str | None,
    now: datetime,
) -> bool:
    """Mark our claim delivered or failed (released); False when it was taken over meanwhile.

    Runs inside the caller's transaction, with the push record it settles.
    """
    settled = await session.scalar(
        update(IncidentPushClaim)
        .where(
            IncidentPushClaim.idempotency_key == key,
            IncidentPushClaim.channel == channel,
            IncidentPushClaim.owner == owner,
            IncidentPushClaim.state == "pending",
        )
        .values(
            state="delivered" if delivered else "failed",
            lease_until=None,
            push_id=push_id,
            delivered_at=now if delivered else None,
            last_error=error,
            updated_at=now,
        )
        .returning(IncidentPushClaim.idempotency_key)
    )
    return settled is not None


async def current(
    session: AsyncSession, key: str, channel: str
) -> tuple[IncidentPushClaim | None, IncidentPushRecord | None]:
    """The claim (if any) and the push that delivered it (if any), read in one transaction."""
    async with session.begin():
        claim = await session.scalar(
            select(IncidentPushClaim).where(
                IncidentPushClaim.idempotency_key == key, IncidentPushClaim.channel == channel
            )
        )
        record = None
        if claim is not None and claim.push_id is not None:
            record = await session.get(IncidentPushRecord, claim.push_id)
    return claim, record
