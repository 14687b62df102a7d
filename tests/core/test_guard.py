"""Auth before body, and a body limit on every route (issue 9.5), checked at the ASGI level.

The app is driven with a hand-made `receive` that counts what the app pulled, so "the body
was never read" is observed, not inferred.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import Message

from tests.conftest import TOKENS

MB = 1024 * 1024


class Exchange:
    """One request through the ASGI app: what it read and what it answered."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0  # body chunks the app pulled
        self.status: int | None = None
        self.body = b""

    async def receive(self) -> Message:
        if self.read < len(self.chunks):
            chunk = self.chunks[self.read]
            self.read += 1
            return {
                "type": "http.request",
                "body": chunk,
                "more_body": self.read < len(self.chunks),
            }
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            assert self.status is None, "two answers to one request"
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def call(
    app: FastAPI,
    method: str,
    path: str,
    chunks: list[bytes],
    *,
    token: str | None = None,
    declare_length: bool = True,
) -> Exchange:
    headers = [(b"content-type", b"application/json")]
    if declare_length:
        headers.append((b"content-length", str(sum(map(len, chunks))).encode()))
    if token:
        headers.append((b"authorization", f"Bearer {TOKENS[token]}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    exchange = Exchange(chunks)
    await app(scope, exchange.receive, exchange.send)
    return exchange


def eight_mb() -> list[bytes]:
    return [b'{"alert_name": "' + b"x" * (MB - 16)] + [b"x" * MB] * 7 + [b'"}']


async def test_no_token_and_8_mb_is_401_without_reading_the_body(app: FastAPI) -> None:
    exchange = await call(app, "POST", "/incidents", eight_mb())
    assert exchange.status == 401
    assert exchange.read == 0
    assert b"bearer" in exchange.body.lower()


async def test_no_token_and_streamed_body_is_401_without_reading_it(app: FastAPI) -> None:
    exchange = await call(app, "POST", "/incidents", eight_mb(), declare_length=False)
    assert exchange.status == 401
    assert exchange.read == 0


@pytest.mark.parametrize(
    ("method", "path", "token"),
    [
        ("POST", "/incidents", "VIEWER_TOKEN"),  # wrong scope: 403, still before the body
        ("POST", "/webhook/alert", None),
        ("POST", "/incidents/abc/acknowledge", None),
        ("PATCH", "/api/push/gates", None),
        ("POST", "/api/push/messages", "OPS_SCRIPT_TOKEN"),
    ],
)
async def test_every_authenticated_route_refuses_before_the_body(
    app: FastAPI, method: str, path: str, token: str | None
) -> None:
    exchange = await call(app, method, path, [b"{" * 64] * 4, token=token)
    assert exchange.status in (401, 403)
    assert exchange.read == 0


async def test_oversized_authenticated_body_is_413_unread(app: FastAPI) -> None:
    exchange = await call(app, "POST", "/incidents", eight_mb(), token="OPERATOR_TOKEN")
    assert exchange.status == 413
    assert exchange.read == 0
    assert b"limit" in exchange.body


async def test_oversized_streamed_body_is_cut_at_the_limit(app: FastAPI) -> None:
    exchange = await call(
        app, "POST", "/incidents", eight_mb(), token="OPERATOR_TOKEN", declare_length=False
    )
    assert exchange.status == 413
    assert exchange.read == 2  # the default limit is 1 MiB: the second chunk passes it


@pytest.mark.parametrize("settings_overrides", [{"WEBHOOK_MAX_BODY_BYTES": 4096}])
async def test_webhook_limit_is_its_own_setting(app: FastAPI) -> None:
    small = b'{"labels": {"alertname": "Small"}}'
    ok = await call(app, "POST", "/webhook/alert", [small], token="ALERTMANAGER_TOKEN")
    assert ok.status == 200, ok.body
    big = [b'{"labels": {"alertname": "' + b"x" * 5000 + b'"}}']
    refused = await call(app, "POST", "/webhook/alert", big, token="ALERTMANAGER_TOKEN")
    assert refused.status == 413
    streamed = await call(
        app, "POST", "/webhook/alert", big, token="ALERTMANAGER_TOKEN", declare_length=False
    )
    assert streamed.status == 413


async def test_a_normal_authenticated_request_still_works(app: FastAPI) -> None:
    exchange = await call(
        app, "POST", "/incidents", [b'{"alert_name": "Direct"}'], token="OPERATOR_TOKEN"
    )
    assert exchange.status == 201, exchange.body
