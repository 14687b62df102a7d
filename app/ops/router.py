"""HTTP routes of the ops overview."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from app.core.auth import ReadAuth
from app.core.db import SessionDep
from app.core.settings import Settings
from app.ops.schemas import OpsSummaryV1
from app.ops.summary import build_summary, write_summary

router = APIRouter(prefix="/api/ops", tags=["ops"])


@router.get("/summary")
async def summary(request: Request, session: SessionDep, _: ReadAuth) -> OpsSummaryV1:
    """OK, WARN or BLOCKED with reasons; 200 even when the database is down (that is a reason)."""
    settings: Settings = request.app.state.settings
    now: datetime = request.app.state.clock.now()
    result = await build_summary(session, settings, now)
    write_summary(settings.DATA_DIR, result)
    return result
