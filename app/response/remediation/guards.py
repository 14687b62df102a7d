"""Guards every action passes: allowlists, per-incident cap, cooldown shared across replicas."""

from __future__ import annotations

from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from app.response.models import RemediationCooldown
from app.response.remediation.base import Action, Plan
from app.response.remediation.outcome import ActionResult

# Results that mean "this incident did touch something" and so count towards the cap.
EXECUTED = frozenset({ActionResult.PENDING, ActionResult.SUCCESS, ActionResult.FAILURE})


def cooldown_target(action: Action, plan: Plan) -> str:
    """The cooldown key's target: namespaced for Kubernetes objects."""
    if action.target_kind == "deployment":
        return f"{plan.namespace}/{plan.target}"
    return plan.target


def allowlist_block(settings: Settings, action: Action, plan: Plan) -> str | None:
    """Why the allowlists forbid this plan, or None when they allow it."""
    if action.target_kind == "deployment" and plan.namespace not in settings.REMEDIATION_NAMESPACES:
        return f"namespace {plan.namespace!r} not in REMEDIATION_NAMESPACES"
    if action.target_kind == "logdir":
        # The directory allowlist is REMEDIATION_LOG_DIRS itself (checked again on every scan).
        allowed = {str(p.resolve()) for p in settings.REMEDIATION_LOG_DIRS}
        if str(Path(plan.target).resolve()) not in allowed:
            return f"{plan.target!r} not in REMEDIATION_LOG_DIRS"
        return None
    if not any(fnmatchcase(plan.target, p) for p in settings.REMEDIATION_TARGETS):
        return f"target {plan.target!r} not in REMEDIATION_TARGETS"
    return None


def executed_count(records: list[dict[str, Any]]) -> int:
    return sum(1 for r in records if not r.get("dry_run") and r.get("result") in EXECUTED)


async def claim_cooldown(
    session: AsyncSession, action: str, target: str, incident_id: str, seconds: float
) -> datetime | None:
    """Take the (action, target) slot; None when taken, else the time another holder keeps it.

    One statement decides it, so two replicas cannot both pass: the upsert only overwrites
    an expired row, and only the winner gets a row back.
    """
    until = func.now() + text("make_interval(secs => :cooldown)").bindparams(cooldown=seconds)
    stmt = insert(RemediationCooldown).values(
        action=action, target=target, incident_id=incident_id, last_at=func.now(), until=until
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[RemediationCooldown.action, RemediationCooldown.target],
        set_={
            "incident_id": stmt.excluded.incident_id,
            "last_at": stmt.excluded.last_at,
            "until": stmt.excluded.until,
        },
        where=RemediationCooldown.until <= func.now(),
    ).returning(RemediationCooldown.action)
    if (await session.execute(upsert)).first() is not None:
        return None
    held: datetime | None = await session.scalar(
        select(RemediationCooldown.until).where(
            RemediationCooldown.action == action, RemediationCooldown.target == target
        )
    )
    # None only if the row vanished between the two statements: still not ours to take.
    return held or datetime.now(UTC)
