"""HTTP routes of incident pushes (contract D): parameters, scopes and status codes only."""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, FastAPI, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.auth import OperatorOrScriptAuth, ReadAuth
from app.core.db import SessionDep
from app.core.errors import AppError, NotFound, Unprocessable
from app.push.incident_push import PushFailure, send_incident
from app.push.incident_read import latest_push, list_pushes
from app.push.incident_record import IncidentDeps
from app.push.incident_schemas import (
    IncidentKind,
    IncidentMode,
    IncidentPushPage,
    IncidentPushV1,
    IncidentRequest,
    IncidentSendAnswer,
)
from app.push.paths import PushPaths

router = APIRouter(prefix="/api/push/incident", tags=["incident-push"])
log = logging.getLogger(__name__)

KINDS = ", ".join(k.value for k in IncidentKind)
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


class ConfirmRequired(AppError):
    status_code = 400


def deps_of(app: FastAPI) -> IncidentDeps:
    """The send's collaborators from the app (also used by the follow-up background task)."""
    settings = app.state.settings
    return IncidentDeps(
        settings=settings,
        telegram=app.state.push_telegram,
        paths=PushPaths(settings.DATA_DIR),
        clock=app.state.clock,
    )


async def report_push_failure(app: FastAPI, failure: PushFailure) -> None:
    """Background task: the one PUSH_FAILED push for a failed incident push, own session."""
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    request = IncidentRequest.model_validate(
        {
            "kind": IncidentKind.PUSH_FAILED,
            "reason": f"{failure.kind.value} push failed: {failure.error}",
            "step": failure.step,
        }
    )
    try:
        async with sessionmaker() as session:
            await send_incident(session, deps_of(app), request)
    except Exception:  # a background task records and logs; it has nobody to answer
        log.exception("PUSH_FAILED follow-up failed", extra={"kind": failure.kind.value})


@router.post("/send")
async def send(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    _: OperatorOrScriptAuth,
    confirm: Annotated[str | None, Query(max_length=10)] = None,
    mode: Annotated[str, Query(max_length=10)] = "normal",
    kind: Annotated[str | None, Query(max_length=40)] = None,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    step: Annotated[str | None, Query(pattern="^Step[1-6]$")] = None,
) -> IncidentSendAnswer:
    """Push one incident notice (once per kind per day in normal mode; test mode sends nothing)."""
    if (confirm or "").lower() != "true":
        raise ConfirmRequired("an incident push needs confirm=true")
    if kind not in IncidentKind.__members__:
        raise Unprocessable(f"unknown kind {kind!r}: expected one of {KINDS}")
    if mode not in {m.value for m in IncidentMode}:
        raise Unprocessable("mode must be normal or test")
    wanted = IncidentRequest.model_validate(
        {"kind": kind, "mode": mode, "reason": reason, "step": step}
    )
    answer, failure = await send_incident(session, deps_of(request.app), wanted)
    if failure is not None:
        background.add_task(report_push_failure, request.app, failure)
    return answer


@router.get("/latest")
async def latest(session: SessionDep, _: ReadAuth) -> IncidentPushV1:
    """The newest incident push (from the database)."""
    document = await latest_push(session)
    if document is None:
        raise NotFound("no incident push yet")
    return document


@router.get("")
async def history(
    session: SessionDep,
    _: ReadAuth,
    kind: IncidentKind | None = None,
    date: Annotated[str | None, Query(description="YYYY-MM-DD, the day in TIMEZONE")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> IncidentPushPage:
    """Incident pushes newest first, filtered by kind and day, paginated."""
    day = None
    if date is not None:
        if not _DATE.match(date):
            raise Unprocessable("date must be YYYY-MM-DD")
        day = date.replace("-", "")
    return await list_pushes(session, kind=kind, day=day, limit=limit, offset=offset)
