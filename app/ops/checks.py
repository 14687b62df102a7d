"""The ops summary's checks: small functions, each answering OK, WARN or BLOCKED with a reason.

To add one (heartbeats, say): write `async def check_x(ctx: CheckContext) -> OpsCheck` and
append `OpsCheckSpec("x", check_x)` to CHECKS. A check that needs the database is skipped when
the database is down; one that raises is reported as WARN CHECK_ERROR, never hiding the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from app.incidents.heartbeats import heartbeat_status
from app.incidents.models import ACTIVE_STATUSES, Incident, IncidentEvent, Priority
from app.ops.schemas import CheckStatus, OpsCheck, OpsReason, ReasonCode
from app.push.models import PushGate, PushSelfTest
from app.response.models import PageGroup

LISTED_IDS = 10  # incident ids named in a check's detail
REOPEN = "reopen"  # the timeline kind of an operator's reopen: it starts a new page generation


@dataclass(frozen=True)
class CheckContext:
    session: AsyncSession
    settings: Settings
    now: datetime


Check = Callable[[CheckContext], Awaitable[OpsCheck]]


@dataclass(frozen=True)
class OpsCheckSpec:
    name: str
    run: Check
    needs_database: bool = True


def ok(name: str, **detail: object) -> OpsCheck:
    return OpsCheck(name=name, status=CheckStatus.OK, detail=detail)


def problem(
    name: str, status: CheckStatus, code: ReasonCode, message: str, **detail: object
) -> OpsCheck:
    reason = OpsReason.model_validate({"code": code, "status": status.value, "message": message})
    return OpsCheck(name=name, status=status, reason=reason, detail=detail)


async def check_database(ctx: CheckContext) -> OpsCheck:
    """Always first: the others read the database."""
    await ctx.session.execute(text("SELECT 1"))
    return ok("database")


async def check_emergency_stop(ctx: CheckContext) -> OpsCheck:
    stopped = await ctx.session.scalar(select(PushGate.emergency_stop).where(PushGate.id == 1))
    if stopped:
        return problem(
            "emergency_stop",
            CheckStatus.BLOCKED,
            ReasonCode.EMERGENCY_STOP,
            "the push emergency stop is on: no Telegram push leaves",
        )
    return ok("emergency_stop")


def _active_p0() -> ColumnElement[bool]:
    return and_(Incident.priority == Priority.P0, Incident.status.in_(ACTIVE_STATUSES))


async def _incidents(ctx: CheckContext, *where: ColumnElement[bool]) -> tuple[int, list[str]]:
    """How many incidents match, and the ids of the oldest LISTED_IDS of them."""
    rows = (
        await ctx.session.execute(
            select(Incident.id, func.count().over())
            .where(*where)
            .order_by(Incident.created_at)
            .limit(LISTED_IDS)
        )
    ).all()
    return (int(rows[0][1]) if rows else 0), [r[0] for r in rows]


async def _counted(
    ctx: CheckContext,
    name: str,
    status: CheckStatus,
    code: ReasonCode,
    what: str,
    *where: ColumnElement[bool],
) -> OpsCheck:
    """OK with count 0, or `status` naming how many incidents match `where` and the oldest."""
    count, ids = await _incidents(ctx, *where)
    if not count:
        return ok(name, count=0)
    return problem(name, status, code, f"{count} {what}", count=count, incident_ids=ids)


async def check_open_p0(ctx: CheckContext) -> OpsCheck:
    return await _counted(
        ctx,
        "open_p0_incidents",
        CheckStatus.BLOCKED,
        ReasonCode.OPEN_P0_INCIDENTS,
        "P0 incident(s) open or investigating",
        _active_p0(),
    )


async def check_overdue_pages(ctx: CheckContext) -> OpsCheck:
    """Active P0s whose group's PagerDuty page is still not open OPS_PAGE_OVERDUE_SECONDS after
    they opened (or were reopened). Pages are per Alertmanager group (response.escalation):
    a P0 merged into its group's open page is paged; one held by the storm budget or damped
    as flapping was deliberately not paged (the storm page and its timeline say so)."""
    policy = ctx.settings.ESCALATION_PAGERDUTY.get("P0", "never")
    if policy != "immediate":
        return ok("overdue_pages", note=f"P0 pages are '{policy}', not immediate: not checked")
    reopens = and_(IncidentEvent.incident_id == Incident.id, IncidentEvent.kind == REOPEN)
    last_reopen = select(func.max(IncidentEvent.at)).where(reopens).scalar_subquery()
    since = func.coalesce(last_reopen, Incident.created_at)
    delivered = exists().where(
        PageGroup.key == Incident.page_key,
        PageGroup.pd_state.in_(("triggered", "acknowledged"))
        | Incident.page_decision.in_(("held", "damped")),
    )
    cutoff = ctx.now - timedelta(seconds=ctx.settings.OPS_PAGE_OVERDUE_SECONDS)
    count, ids = await _incidents(ctx, _active_p0(), since < cutoff, ~delivered)
    if not count:
        return ok("overdue_pages", overdue_after_seconds=ctx.settings.OPS_PAGE_OVERDUE_SECONDS)
    configured = ctx.settings.PAGERDUTY_ROUTING_KEY is not None
    return problem(
        "overdue_pages",
        CheckStatus.BLOCKED,
        ReasonCode.OVERDUE_PAGES,
        f"{count} P0 page(s) not delivered {ctx.settings.OPS_PAGE_OVERDUE_SECONDS} s after "
        "the incident opened" + ("" if configured else " (PAGERDUTY_ROUTING_KEY is not set)"),
        count=count,
        incident_ids=ids,
        overdue_after_seconds=ctx.settings.OPS_PAGE_OVERDUE_SECONDS,
    )


async def check_self_test(ctx: CheckContext) -> OpsCheck:
    latest = (
        await ctx.session.execute(
            select(PushSelfTest.decision, PushSelfTest.asof)
            .order_by(PushSelfTest.seq.desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        return ok("self_test", note="no push self-test has run")
    decision, asof = latest
    if decision != "SELF_TEST_PASS":
        return problem(
            "self_test",
            CheckStatus.WARN,
            ReasonCode.SELF_TEST_FAILING,
            f"the latest push self-test ({asof.isoformat()}) is {decision}",
            asof=asof.isoformat(),
        )
    return ok("self_test", asof=asof.isoformat())


async def check_stale_incidents(ctx: CheckContext) -> OpsCheck:
    return await _counted(
        ctx,
        "stale_incidents",
        CheckStatus.WARN,
        ReasonCode.STALE_INCIDENTS,
        "active incident(s) whose alert stopped arriving (stale)",
        Incident.stale.is_(True),
        Incident.status.in_(ACTIVE_STATUSES),
    )


async def check_heartbeats(ctx: CheckContext) -> OpsCheck:
    """Alertmanager receivers whose dead man's switch (HEARTBEAT_ALERTNAME) went silent: the
    monitoring path itself is broken, so nothing else here can be trusted to page."""
    beats = await heartbeat_status(ctx.session, ctx.now, ctx.settings.HEARTBEAT_TIMEOUT_SECONDS)
    missing = [b for b in beats if b.status == "missing"]
    if not missing:
        return ok("heartbeats", receivers=len(beats))
    return problem(
        "heartbeats",
        CheckStatus.BLOCKED,
        ReasonCode.HEARTBEAT_MISSING,
        f"no {missing[0].alert_name} from {len(missing)} Alertmanager receiver(s) for "
        f"{ctx.settings.HEARTBEAT_TIMEOUT_SECONDS:.0f} s",
        receivers=[b.receiver for b in missing],
        incident_ids=[b.incident_id for b in missing if b.incident_id],
    )


# Order is the order of the report.
CHECKS: list[OpsCheckSpec] = [
    OpsCheckSpec("database", check_database),
    OpsCheckSpec("emergency_stop", check_emergency_stop),
    OpsCheckSpec("open_p0_incidents", check_open_p0),
    OpsCheckSpec("overdue_pages", check_overdue_pages),
    OpsCheckSpec("self_test", check_self_test),
    OpsCheckSpec("stale_incidents", check_stale_incidents),
    OpsCheckSpec("heartbeats", check_heartbeats),
]
