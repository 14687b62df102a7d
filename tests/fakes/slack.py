"""A loopback Slack incoming webhook with the real plain-text answers.

Scripted answers per call: "ok" (200 `ok`), "400" (`invalid_payload`), "403"
(`action_prohibited`), "404" (`no_service`), "429" (`rate_limited` + Retry-After), "500"
(`rollup_error`).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

PATH = "/services/T000FAKE/B000FAKE/fakeSecretPart0123456789"
ANSWERS = {
    "ok": (200, "ok"),
    "400": (400, "invalid_payload"),
    "403": (403, "action_prohibited"),
    "404": (404, "no_service"),
    "429": (429, "rate_limited"),
    "500": (500, "rollup_error"),
}


@dataclass
class FakeSlack:
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: deque[str] = field(default_factory=deque)
    always: str | None = None
    retry_after: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.always = None

    async def post(self, request: Request) -> PlainTextResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            kind = self.script.popleft() if self.script else (self.always or "ok")
        if not isinstance(body, dict) or not body.get("text"):
            kind = "400"
        status, text = ANSWERS[kind]
        headers = {"Retry-After": str(self.retry_after)} if status == 429 else {}
        return PlainTextResponse(text, status_code=status, headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route(PATH, self.post, methods=["POST"])])
