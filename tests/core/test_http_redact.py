"""core/http.py redacts a peer's error body before it shortens it (issue 9.9)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core.http import RetryPolicy, make_client, request_with_retries
from app.core.redact import configure_secrets
from tests.fakes.server import serve_in_thread

BOT_TOKEN = "123456789:AAHf0ke-T0ken_for_tests_only_abcdefghi"


async def _echo_token_at_the_cut(request: Request) -> PlainTextResponse:
    # The token straddles character 500, where the error text is shortened.
    return PlainTextResponse("e" * 490 + f"bot{BOT_TOKEN} is invalid", status_code=400)


async def test_error_body_is_redacted_before_it_is_cut() -> None:
    configure_secrets([BOT_TOKEN])
    app = Starlette(routes=[Route("/fail", _echo_token_at_the_cut)])
    try:
        with serve_in_thread(app) as base:
            async with make_client(base_url=base) as client:
                outcome = await request_with_retries(
                    client, "GET", "/fail", policy=RetryPolicy(max_attempts=1)
                )
    finally:
        configure_secrets(())
    error = outcome.last.error
    assert error is not None
    assert outcome.last.status == 400
    assert "123456" not in error  # not even the part before the cut
    assert error.startswith("e" * 490 + "bot[REDACT")  # the mask, cut: never the secret
    assert len(error) <= 500


async def test_transport_errors_are_redacted() -> None:
    configure_secrets([BOT_TOKEN])
    try:
        async with make_client(timeout=1) as client:
            outcome = await request_with_retries(
                client,
                "GET",
                f"http://127.0.0.1:9/bot{BOT_TOKEN}/getMe",
                policy=RetryPolicy(max_attempts=1),
            )
    finally:
        configure_secrets(())
    assert outcome.response is None
    assert BOT_TOKEN not in (outcome.last.error or "")
    assert isinstance(outcome.last.error, str)
    assert httpx  # the client library is the real one, over a real socket
