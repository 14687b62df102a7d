"""A loopback PagerDuty Events API v2 (`POST /v2/enqueue`) with the real answers.

Scripted answers per call: "202" (default), "400" (invalid event), "429" (throttled, with
Retry-After), "500", "503", "hang" (never answers until released).
`delay` slows every answer; `max_in_flight` records the most requests it held at once.
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
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.always = None
            self.released = False
            self.delay = 0.0
            self.in_flight = self.max_in_flight = 0

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if action is None or r.get("event_action") == action]

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
        if kind == "400" or not body.get("routing_key"):
            return JSONResponse(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["'routing_key' is invalid"],
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
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")},
            status_code=202,
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/enqueue", self.enqueue, methods=["POST"])])
