"""A loopback PagerDuty Events API v2 (`POST /v2/enqueue`) with the real answers.

Scripted answers per call: "202" (default), "400" (invalid event), "429" (throttled, with
Retry-After), "500", "503", "hang" (never answers until released).
`delay` slows every answer; `max_in_flight` records the most requests it held at once.

Like PagerDuty, it keeps incidents by dedup_key: a trigger whose dedup_key has no open
incident opens one; a trigger for an open one is deduplicated into it (an "update");
acknowledge and resolve act on the open incident (and are accepted, ignored, when there is
none). A resolved dedup_key that triggers again opens a new incident. Invalid events get
PagerDuty's 400 (unknown event_action, a trigger without summary/source/valid severity, a
dedup_key over 255 characters).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})


@dataclass
class FakeIncident:
    """One PagerDuty incident: opened by a trigger, then its dedup_key's later events."""

    dedup_key: str
    status: str = "triggered"  # triggered | acknowledged | resolved
    triggers: int = 1
    severities: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)


def invalid(body: dict[str, Any]) -> str | None:
    """Why PagerDuty would refuse this event (400), or None."""
    if not body.get("routing_key"):
        return "'routing_key' is invalid"
    if body.get("event_action") not in ACTIONS:
        return "'event_action' is invalid"
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        return "'dedup_key' is invalid"
    if body["event_action"] != "trigger":
        return None if dedup_key else "'dedup_key' is missing"
    payload = body.get("payload") or {}
    if not payload.get("summary") or len(str(payload["summary"])) > 1024:
        return "'payload.summary' is missing or too long"
    if not payload.get("source"):
        return "'payload.source' is missing"
    if payload.get("severity") not in SEVERITIES:
        return "'payload.severity' is invalid"
    return None


@dataclass
class FakePagerDuty:
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    always: str | None = None
    retry_after: int = 1
    released: bool = False
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    incidents: list[FakeIncident] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.incidents.clear()
            self.script.clear()
            self.always = None
            self.released = False
            self.delay = 0.0
            self.in_flight = self.max_in_flight = 0

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if action is None or r.get("event_action") == action]

    def open_incidents(self) -> list[FakeIncident]:
        return [i for i in self.incidents if i.status != "resolved"]

    def _current(self, dedup_key: str) -> FakeIncident | None:
        for incident in reversed(self.incidents):
            if incident.dedup_key == dedup_key and incident.status != "resolved":
                return incident
        return None

    def _apply(self, body: dict[str, Any]) -> None:
        """PagerDuty's dedup semantics, for an accepted (202) event."""
        action, key = body["event_action"], body.get("dedup_key") or f"pd-{len(self.incidents)}"
        current = self._current(key)
        if action == "trigger":
            payload = body["payload"]
            if current is None:
                current = FakeIncident(key, triggers=0)
                self.incidents.append(current)
            current.triggers += 1
            current.severities.append(payload["severity"])
            current.summaries.append(payload["summary"])
            current.details.append(payload.get("custom_details") or {})
        elif current is not None:
            current.status = "acknowledged" if action == "acknowledge" else "resolved"

    async def enqueue(self, request: Request) -> JSONResponse:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            kind = self.script.popleft() if self.script else (self.always or "202")
        if self.delay:
            await asyncio.sleep(self.delay)
        if kind == "hang":
            while not self.released:
                await asyncio.sleep(0.05)
            kind = "202"
        reason = "'routing_key' is invalid" if kind == "400" else invalid(body)
        if reason is not None:
            return JSONResponse(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": [reason],
                },
                status_code=400,
            )
        if kind == "429":
            return JSONResponse(
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if kind in ("500", "502", "503"):
            return JSONResponse(
                {"status": "error", "message": "internal error"}, status_code=int(kind)
            )
        with self._lock:
            self._apply(body)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")},
            status_code=202,
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/enqueue", self.enqueue, methods=["POST"])])
