"""Telegram Bot API client (sendMessage, getMe) on core.http: bounded retries, redacted errors.

The bot token sits in the URL path (`/bot<token>/method`), so every error that leaves this module
has passed the redactor, and httpx's own request log lines (which print the URL) are silenced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from app.core.http import Attempt, RetryPolicy, make_client, request_with_retries
from app.core.redact import redact
from app.core.settings import Settings

log = logging.getLogger(__name__)

_ERROR_CLASSES = {
    400: "TelegramBadRequest",
    401: "TelegramUnauthorized",
    403: "TelegramForbidden",
    404: "TelegramNotFound",
    409: "TelegramConflict",
    429: "TelegramRateLimited",
}


@dataclass
class TelegramResult:
    """What one API call came to, with nothing secret in it."""

    ok: bool
    http_status: int | None
    error_class: str | None = None
    error_message: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    # No answer after the request left: Telegram may have delivered it (never repeated).
    outcome_unknown: bool = False

    @property
    def cant_parse_entities(self) -> bool:
        """Telegram rejected our HTML markup (the plain-text fallback is then tried)."""
        return self.http_status == 400 and "can't parse entities" in (self.error_message or "")


def _error_class(status: int | None, fallback: str | None) -> str:
    if status is None:
        return fallback or "TelegramNetworkError"
    if status >= 500:
        return "TelegramServerError"
    return _ERROR_CLASSES.get(status, f"TelegramHTTP{status}")


class TelegramClient:
    """One per process, built in the lifespan; `sleep` is replaceable so tests never wait."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: SecretStr | None,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._token = token
        self.policy = policy
        self.sleep = sleep

    @property
    def configured(self) -> bool:
        return self._token is not None and bool(self._token.get_secret_value())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, payload: dict[str, Any] | None = None, *, repeatable: bool = True
    ) -> TelegramResult:
        if self._token is None or not self._token.get_secret_value():
            return TelegramResult(False, None, "NoToken", "TELEGRAM_BOT_TOKEN is not set")
        token = self._token.get_secret_value()

        async def note(attempt: Attempt) -> None:
            log.info(
                "telegram attempt",
                extra={"method": method, "attempt": attempt.number, "status": attempt.status},
            )

        outcome = await request_with_retries(
            self._http,
            "POST",
            f"/bot{token}/{method}",
            policy=self.policy,
            retry_ambiguous=repeatable,
            on_attempt=note,
            sleep=self.sleep,
            json=payload or {},
        )
        last = outcome.last
        response = outcome.response if last.status is not None else None
        body: dict[str, Any] = {}
        if response is not None:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            body = parsed if isinstance(parsed, dict) else {}
        if response is not None and response.is_success and body.get("ok") is True:
            result = body.get("result")
            return TelegramResult(
                True,
                response.status_code,
                result=result if isinstance(result, dict) else {},
                attempts=len(outcome.attempts),
            )
        status = response.status_code if response is not None else None
        description = body.get("description") if isinstance(body.get("description"), str) else None
        message = description or last.error or "no detail"
        return TelegramResult(
            False,
            status,
            _error_class(status, last.error_class),
            redact(str(message))[:500],
            attempts=len(outcome.attempts),
            outcome_unknown=response is None and last.ambiguous,
        )

    async def get_me(self) -> TelegramResult:
        """`getMe`: proves the token is accepted and the API reachable."""
        return await self._call("getMe")

    async def send_message(self, chat_id: str, text: str, *, html: bool) -> TelegramResult:
        """`sendMessage` to one chat, HTML parse mode or plain text.

        Not repeated after a read timeout (no idempotency key: a repeat could post it twice);
        connection failures, 429 and 5xx answers are retried within the policy.
        """
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "link_preview_options": {"is_disabled": True},
        }
        if html:
            payload["parse_mode"] = "HTML"
        return await self._call("sendMessage", payload, repeatable=False)


def make_telegram_client(settings: Settings) -> TelegramClient:
    """Build the client for the lifespan (always built; without a token it reports NoToken)."""
    http = make_client(base_url=settings.TELEGRAM_API_BASE, timeout=settings.HTTP_TIMEOUT_SECONDS)
    return TelegramClient(http, settings.TELEGRAM_BOT_TOKEN, RetryPolicy.from_settings(settings))
