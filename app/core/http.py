"""HTTP clients for peers: explicit timeouts, bounded retries, 429 Retry-After, redacted errors."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.core.clock import now_utc
from app.core.redact import redact
from app.core.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Transport errors after the request was written: the peer may have acted on it.
AMBIGUOUS_ERRORS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
# How much of an error body is scanned before the kept 500 characters are taken from it.
MAX_ERROR_SCAN = 64 * 1024


def make_client(
    *, base_url: str = "", timeout: float = 10.0, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """One client per peer, created in the lifespan and closed there."""
    # httpx logs every request URL at INFO; Telegram's and Slack's URLs carry the secret.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers={"User-Agent": "ops-backend/0.1", **(headers or {})},
        follow_redirects=False,
        trust_env=False,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded in attempts and in total time; delays are exponential with jitter."""

    max_attempts: int = 4
    max_total_seconds: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The operator's bound on every outbound call (HTTP_MAX_ATTEMPTS, HTTP_MAX_RETRY_SECONDS)."""
        return cls(
            max_attempts=settings.HTTP_MAX_ATTEMPTS,
            max_total_seconds=settings.HTTP_MAX_RETRY_SECONDS,
        )

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)  # retry jitter, not a secret  # nosec B311


@dataclass
class Attempt:
    """One try at a peer: what came back, sanitized."""

    number: int
    status: int | None
    error_class: str | None = None
    error: str | None = None
    retry_after: float | None = None
    # The request may have reached the peer and been acted on (no answer came back).
    ambiguous: bool = False


@dataclass
class Outcome:
    """The last response (if any) and every attempt that led to it."""

    response: httpx.Response | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.is_success

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or a JSON `retry_after`."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(header) - now_utc()).total_seconds())
            except (TypeError, ValueError):
                pass
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        params = body.get("parameters")
        value = params.get("retry_after") if isinstance(params, dict) else body.get("retry_after")
        if isinstance(value, int | float):
            return max(0.0, float(value))
    return None


async def request_with_retries(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    retry_status: frozenset[int] = RETRYABLE_STATUS,
    retry_ambiguous: bool = True,
    on_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **kwargs: Any,
) -> Outcome:
    """Send, retrying 5xx/429/timeouts within the policy; never raises for HTTP or network errors.

    `retry_ambiguous=False` is for calls that must not repeat (no idempotency key at the peer):
    an error after the request was written ends the attempts, marked `ambiguous`.
    """
    outcome = Outcome(response=None)
    started = time.monotonic()
    for number in range(1, policy.max_attempts + 1):
        wait: float | None = None
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            attempt = Attempt(number, None, type(exc).__name__, redact(str(exc)) or "no detail")
            attempt.ambiguous = isinstance(exc, AMBIGUOUS_ERRORS)
            retryable = retry_ambiguous or not attempt.ambiguous
        else:
            outcome.response = response
            attempt = Attempt(number, response.status_code)
            retryable = response.status_code in retry_status
            if not response.is_success:
                attempt.error_class = f"HTTP{response.status_code}"
                # Redact, then cut: a cut first could leave half a secret the redactor misses.
                attempt.error = redact(response.text[:MAX_ERROR_SCAN])[:500]
            if response.status_code == 429:
                wait = attempt.retry_after = retry_after_seconds(response)
        outcome.attempts.append(attempt)
        if on_attempt is not None:
            await on_attempt(attempt)
        if not retryable or number == policy.max_attempts:
            break
        wait = policy.backoff(number) if wait is None else wait
        if time.monotonic() - started + wait > policy.max_total_seconds:
            log.info("retry budget exhausted", extra={"attempts": number, "wait": wait})
            break
        await sleep(wait)
    return outcome
