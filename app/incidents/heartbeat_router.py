"""GET /api/heartbeats: when each receiver's dead man's switch (Watchdog) was last seen."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.auth import ReadAuth
from app.core.db import ReadSessionDep
from app.incidents.heartbeats import HeartbeatOut, heartbeat_status

router = APIRouter(prefix="/api/heartbeats", tags=["heartbeats"])


@router.get("", response_model=list[HeartbeatOut])
async def list_heartbeats(
    request: Request, session: ReadSessionDep, _: ReadAuth
) -> list[HeartbeatOut]:
    """Each receiver's heartbeat: last seen, `ok` or `missing`, and the incident it opened."""
    settings = request.app.state.settings
    return await heartbeat_status(
        session, request.app.state.clock.now(), settings.HEARTBEAT_TIMEOUT_SECONDS
    )
