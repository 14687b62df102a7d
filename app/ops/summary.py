"""Run the checks in order, fold them into one overall status, write the latest report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.files import write_json_atomic
from app.core.settings import Settings
from app.ops.checks import CHECKS, CheckContext, OpsCheckSpec, problem
from app.ops.schemas import (
    CheckStatus,
    OpsCheck,
    OpsSummaryV1,
    OverallStatus,
    ReasonCode,
)
from app.push.paths import OPS_SUMMARY_LATEST

log = logging.getLogger(__name__)

# What "the database cannot answer" looks like from here (connection refused, pool timeout).
DATABASE_ERRORS = (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)


async def _run(spec: OpsCheckSpec, ctx: CheckContext) -> OpsCheck:
    """One check in its own read transaction, so one failure cannot poison the next."""
    try:
        async with ctx.session.begin():
            return await spec.run(ctx)
    except DATABASE_ERRORS as exc:
        log.warning(
            "ops check: database error",
            extra={"check": spec.name, "error_class": type(exc).__name__},
        )
        if spec.name == "database":
            return problem(
                "database",
                CheckStatus.BLOCKED,
                ReasonCode.DATABASE_DOWN,
                f"the database does not answer ({type(exc).__name__})",
            )
        return _check_error(spec, exc)
    except Exception as exc:  # one broken check must not hide the others' answers
        log.exception("ops check failed", extra={"check": spec.name})
        return _check_error(spec, exc)


def _check_error(spec: OpsCheckSpec, exc: Exception) -> OpsCheck:
    return problem(
        spec.name,
        CheckStatus.WARN,
        ReasonCode.CHECK_ERROR,
        f"the {spec.name} check could not run ({type(exc).__name__})",
    )


def overall(checks: Sequence[OpsCheck]) -> OverallStatus:
    statuses = {c.status for c in checks}
    if CheckStatus.BLOCKED in statuses:
        return OverallStatus.BLOCKED
    if CheckStatus.WARN in statuses:
        return OverallStatus.WARN
    return OverallStatus.OK


async def build_summary(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    checks: Sequence[OpsCheckSpec] = tuple(CHECKS),
) -> OpsSummaryV1:
    """Every check's answer; with the database down, the checks that need it are SKIPPED."""
    ctx = CheckContext(session=session, settings=settings, now=now)
    results: list[OpsCheck] = []
    database_up = True
    for spec in checks:
        if spec.needs_database and not database_up:
            results.append(
                OpsCheck(
                    name=spec.name, status=CheckStatus.SKIPPED, detail={"note": "database down"}
                )
            )
            continue
        result = await _run(spec, ctx)
        if result.reason is not None and result.reason.code is ReasonCode.DATABASE_DOWN:
            database_up = False
        results.append(result)
    return OpsSummaryV1(
        asof=now,
        overall_status=overall(results),
        reasons=[c.reason for c in results if c.reason is not None],
        checks=results,
    )


def write_summary(data_dir: Path, summary: OpsSummaryV1) -> None:
    """The latest report (atomic); a write failure is logged, the answer still goes out."""
    try:
        write_json_atomic(data_dir / OPS_SUMMARY_LATEST, summary)
    except OSError:
        log.exception("ops summary report not written")
