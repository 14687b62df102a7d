"""Delivery records: claim (incident, channel, event) before calling, audit every attempt."""

from __future__ import annotations

from sqlalchemy import ScalarSelect, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.http import Attempt
from app.core.redact import redact
from app.incidents.models import IncidentEvent
from app.response.models import Delivery, DeliveryAttempt, DeliveryState

REOPEN = "reopen"  # the timeline kind an operator's reopen writes (service.act)


def generation(incident_id: str) -> ScalarSelect[int]:
    """The incident's reopen count, read in the statement that claims or checks a delivery.

    The timeline is append-only, so this only grows; reopen and claim both lock or read the
    committed timeline, so replicas agree on which generation a delivery belongs to.
    """
    return (
        select(func.count())
        .select_from(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == REOPEN)
        .scalar_subquery()
    )


async def claim(
    sm: async_sessionmaker[AsyncSession],
    incident_id: str,
    channel: str,
    event: str,
    owner: str,
    lease_seconds: float,
) -> int | None:
    """The delivery id when we may call the peer now; None when it is delivered or in flight.

    Keyed by the incident's current generation (reopen count). The INSERT wins for the
    first caller; afterwards only an abandoned claim (lease expired: its worker died
    mid-call) or a failure marked retryable can be taken over.
    """
    lease = func.now() + text("make_interval(secs => :lease)").bindparams(lease=lease_seconds)
    stmt = insert(Delivery).values(
        incident_id=incident_id,
        channel=channel,
        event=event,
        generation=generation(incident_id),
        state=DeliveryState.SENDING,
        retryable=False,
        owner=owner,
        lease_until=lease,
        attempts=0,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[
            Delivery.incident_id,
            Delivery.channel,
            Delivery.event,
            Delivery.generation,
        ],
        set_={
            "state": DeliveryState.SENDING,
            "owner": owner,
            "lease_until": stmt.excluded.lease_until,
        },
        where=or_(
            (Delivery.state == DeliveryState.SENDING) & (Delivery.lease_until < func.now()),
            (Delivery.state == DeliveryState.FAILED) & Delivery.retryable,
        ),
    ).returning(Delivery.id)
    async with sm() as session, session.begin():
        delivery_id: int | None = await session.scalar(upsert)
        return delivery_id


async def record_attempt(
    sm: async_sessionmaker[AsyncSession],
    delivery_id: int,
    incident_id: str,
    channel: str,
    event: str,
    attempt: Attempt,
) -> None:
    """One audit row per HTTP attempt; numbering continues across takeovers."""
    async with sm() as session, session.begin():
        number = await session.scalar(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(attempts=Delivery.attempts + 1, http_status=attempt.status)
            .returning(Delivery.attempts)
        )
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                incident_id=incident_id,
                channel=channel,
                event=event,
                attempt=number or attempt.number,
                http_status=attempt.status,
                error_class=attempt.error_class,
                error=redact(attempt.error)[:1000] if attempt.error else None,
            )
        )


async def settle(
    sm: async_sessionmaker[AsyncSession],
    delivery_id: int,
    *,
    delivered: bool,
    retryable: bool,
    http_status: int | None,
    error: str | None,
) -> None:
    async with sm() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                state=DeliveryState.DELIVERED if delivered else DeliveryState.FAILED,
                retryable=retryable and not delivered,
                lease_until=None,
                http_status=http_status,
                error=redact(error)[:1000] if error else None,
            )
        )


async def delivered(session: AsyncSession, incident_id: str, channel: str, event: str) -> bool:
    """Whether this event went out in the incident's current generation."""
    found = await session.scalar(
        select(Delivery.id).where(
            Delivery.incident_id == incident_id,
            Delivery.channel == channel,
            Delivery.event == event,
            Delivery.generation == generation(incident_id),
            Delivery.state == DeliveryState.DELIVERED,
        )
    )
    return found is not None
