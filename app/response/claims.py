"""Pipeline claims: who runs an incident's pipeline, under a lease that expires if they die.

All times are the database's (`now()`), so replicas with skewed clocks agree on expiry.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.models import Incident, PipelineState
from app.incidents.timeline import add_event

P = PipelineState


class LeaseLost(RuntimeError):
    """Another worker owns this pipeline now (our lease expired); stop without writing."""


def _interval(seconds: float) -> object:
    return text("make_interval(secs => :secs)").bindparams(secs=seconds)


def _due(max_attempts: int) -> ColumnElement[bool]:
    """Pending and not deferred, or running with an expired lease; attempts left."""
    lease = Incident.pipeline_lease_until
    return and_(
        Incident.pipeline_attempts < max_attempts,
        or_(
            and_(Incident.pipeline_state == P.PENDING, or_(lease.is_(None), lease <= func.now())),
            and_(Incident.pipeline_state == P.RUNNING, lease < func.now()),
        ),
    )


def _claim_values(owner: str, lease_seconds: float) -> dict[str, object]:
    return {
        "pipeline_state": P.RUNNING,
        "pipeline_owner": owner,
        "pipeline_lease_until": func.now() + _interval(lease_seconds),
        "pipeline_attempts": Incident.pipeline_attempts + 1,
    }


async def claim_due(
    sm: async_sessionmaker[AsyncSession],
    owner: str,
    lease_seconds: float,
    limit: int,
    max_attempts: int,
) -> list[str]:
    """Claim up to `limit` due pipelines, oldest first; locked rows are skipped, not waited on."""
    async with sm() as session, session.begin():
        due = (
            select(Incident.id)
            .where(_due(max_attempts))
            .order_by(Incident.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await session.scalars(
            update(Incident)
            .where(Incident.id.in_(due))
            .values(**_claim_values(owner, lease_seconds))
            .returning(Incident.id)
        )
        return list(rows)


async def claim_one(
    sm: async_sessionmaker[AsyncSession],
    incident_id: str,
    owner: str,
    lease_seconds: float,
    max_attempts: int,
) -> bool:
    """Claim one incident's pipeline if it is due (the kick path); False when someone has it.

    Waits for a row lock instead of skipping it: the lock may be held by a transaction that
    does not claim (an alert repeat, an operator's action), and a skipped kick would leave
    the pipeline to the next sweep. After the wait the row is re-checked, so a claim that a
    sweeper (ours or another replica's) took meanwhile makes this one answer False; our own
    sweeper queues what it claimed.
    """
    async with sm() as session, session.begin():
        row = await session.scalar(
            update(Incident)
            .where(Incident.id == incident_id, _due(max_attempts))
            .values(**_claim_values(owner, lease_seconds))
            .returning(Incident.id)
        )
        return row is not None


async def renew(
    sm: async_sessionmaker[AsyncSession], incident_id: str, owner: str, lease_seconds: float
) -> bool:
    """Heartbeat: extend our lease; False when it is no longer ours."""
    async with sm() as session, session.begin():
        row = await session.scalar(
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.pipeline_owner == owner,
                Incident.pipeline_state == P.RUNNING,
            )
            .values(pipeline_lease_until=func.now() + _interval(lease_seconds))
            .returning(Incident.id)
        )
        return row is not None


async def lock_owned(session: AsyncSession, incident_id: str, owner: str) -> Incident:
    """Lock the incident for a pipeline write; LeaseLost unless we still hold the lease.

    This is the fence: a worker paused past its lease (GC, network) finds out here and
    writes nothing, even if it has not noticed yet.
    """
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    )
    if (
        incident is None
        or incident.pipeline_owner != owner
        or incident.pipeline_state is not P.RUNNING
    ):
        raise LeaseLost(incident_id)
    return incident


async def finish(
    sm: async_sessionmaker[AsyncSession],
    incident_id: str,
    owner: str,
    state: PipelineState,
    *,
    retry_in: float | None = None,
    note: str | None = None,
) -> None:
    """Release the claim: done, failed, or pending again after `retry_in` seconds."""
    async with sm() as session, session.begin():
        incident = await lock_owned(session, incident_id, owner)
        incident.pipeline_state = state
        incident.pipeline_owner = None
        incident.pipeline_lease_until = None
        if state is P.PENDING and retry_in is not None:
            # A deferred retry: the lease column doubles as "not before" for pending work.
            incident.pipeline_lease_until = await session.scalar(
                select(func.now() + _interval(retry_in))
            )
        await add_event(session, incident_id, f"pipeline_{state.value}", "pipeline", note=note)


async def fail_exhausted(sm: async_sessionmaker[AsyncSession], max_attempts: int) -> list[str]:
    """Pipelines whose workers kept dying: give up on them visibly (state failed + timeline)."""
    async with sm() as session, session.begin():
        rows = list(
            await session.scalars(
                update(Incident)
                .where(
                    Incident.pipeline_attempts >= max_attempts,
                    Incident.pipeline_state.in_([P.PENDING, P.RUNNING]),
                    or_(
                        Incident.pipeline_lease_until.is_(None),
                        Incident.pipeline_lease_until < func.now(),
                    ),
                )
                .values(pipeline_state=P.FAILED, pipeline_owner=None, pipeline_lease_until=None)
                .returning(Incident.id)
            )
        )
        for incident_id in rows:
            await add_event(
                session,
                incident_id,
                "pipeline_failed",
                "pipeline",
                note=f"gave up after {max_attempts} attempts",
            )
        return rows


async def attempts(sm: async_sessionmaker[AsyncSession], incident_id: str) -> int:
    async with sm() as session:
        value = await session.scalar(
            select(Incident.pipeline_attempts).where(Incident.id == incident_id)
        )
        return int(value or 0)
