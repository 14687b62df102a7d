"""A loopback fake of the Telegram Bot API (getMe, sendMessage) with the real JSON shapes.

Tests flip switches: `fail_next(...)` scripts the next answers, `always` fails every call.
Failure kinds: "429" (with parameters.retry_after), "chat_not_found" (400), "cant_parse" (400,
HTML parse mode only, so the plain-text fallback succeeds), "401", "500", "502", "hang".
Run standalone: `python -m tests.fakes.telegram --port 18081 --token <token>`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import serve_in_thread


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


def _error(status: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


@dataclass
class FakeTelegram:
    token: str
    retry_after: int = 3
    delay: float = 0.0
    always: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    _script: deque[str] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    released: bool = False

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.always = None
            self.delay = 0.0
            self.released = False

    def fail_next(self, *kinds: str) -> None:
        with self._lock:
            self._script.extend(kinds)

    def sent(self) -> list[Recorded]:
        """sendMessage calls that Telegram accepted."""
        return [r for r in self.requests if r.method == "sendMessage" and r.body.get("_ok")]

    def _next_failure(self) -> str | None:
        with self._lock:
            return self._script.popleft() if self._script else self.always

    async def _handle(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            # The Bot API also takes form posts (what curl --data-urlencode sends).
            body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        record = Recorded(method, request.url.path, dict(body))
        with self._lock:
            self.requests.append(record)
        if token != self.token:
            return _error(401, "Unauthorized")
        if self.delay:
            await asyncio.sleep(self.delay)
        failure = self._next_failure()
        if failure == "cant_parse" and body.get("parse_mode") != "HTML":
            failure = None
        if failure is not None:
            return await self._fail(failure, request.url.path)
        if method == "getMe":
            return JSONResponse(
                {
                    "ok": True,
                    "result": {
                        "id": 7512345678,
                        "is_bot": True,
                        "first_name": "Ops",
                        "username": "ops_test_bot",
                    },
                }
            )
        if method != "sendMessage":
            return _error(404, "Not Found")
        if not body.get("chat_id") or not body.get("text"):
            return _error(400, "Bad Request: message text is empty")
        record.body["_ok"] = True
        return JSONResponse(
            {
                "ok": True,
                "result": {
                    "message_id": next(self._ids),
                    "date": int(time.time()),
                    "chat": {
                        "id": int(str(body["chat_id"]))
                        if str(body["chat_id"]).lstrip("-").isdigit()
                        else 0,
                        "type": "supergroup",
                    },
                    "text": body["text"],
                },
            }
        )

    async def _fail(self, kind: str, path: str) -> Response:
        if kind == "429":
            return _error(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                retry_after=self.retry_after,
            )
        if kind == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        if kind == "cant_parse":
            return _error(
                400,
                'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 12',
            )
        if kind == "401":
            return _error(401, "Unauthorized")
        if kind == "500":
            return _error(500, "Internal Server Error")
        if kind == "502":
            # A proxy in front of the API that echoes the request line: the token is in it.
            page = f"<html><h1>502 Bad Gateway</h1><p>upstream failed: POST {path}</p></html>"
            return HTMLResponse(page, status_code=502)
        if kind == "hang":
            for _ in range(600):  # until the test releases us (or 30 s), never answering in time
                if self.released:
                    break
                await asyncio.sleep(0.05)
            return _error(504, "Gateway Timeout")
        raise ValueError(f"unknown failure kind {kind!r}")

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token:str}/{method:str}", self._handle, methods=["GET", "POST"]),
            ]
        )


@contextmanager
def served(token: str) -> Iterator[tuple[FakeTelegram, str]]:
    """A fake on a loopback port: (fake, its base URL); a hanging handler is let go at the end."""
    fake = FakeTelegram(token=token)
    with serve_in_thread(fake.app) as url:
        yield fake, url
        fake.released = True


@contextmanager
def fresh(fake: FakeTelegram) -> Iterator[FakeTelegram]:
    """The fake for one test: reset first, and a hanging handler let go before the next test."""
    fake.reset()
    yield fake
    fake.released = True


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--token", required=True)
    parser.add_argument("--always", default=None, help="fail every call with this kind")
    args = parser.parse_args()
    fake = FakeTelegram(token=args.token, always=args.always)
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
