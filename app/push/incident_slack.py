"""PUSH_FAILED's second channel: a plain Slack incoming-webhook post (the URL is the secret)."""

from __future__ import annotations

from app.core.http import RetryPolicy, make_client, request_with_retries
from app.core.redact import redact
from app.core.settings import Settings

# Slack answers 400/403/404/410 for payloads or hooks that will never work; 429 and 5xx retry.
_RETRY = frozenset({429, 500, 502, 503, 504})


async def post_to_slack(settings: Settings, url: str, text: str) -> tuple[bool, str | None]:
    """(delivered, sanitized error); never raises for HTTP or network errors."""
    async with make_client(timeout=settings.HTTP_TIMEOUT_SECONDS) as http:
        outcome = await request_with_retries(
            http,
            "POST",
            url,
            policy=RetryPolicy.from_settings(settings),
            retry_status=_RETRY,
            json={"text": text},
        )
    if outcome.ok:
        return True, None
    last = outcome.last
    return False, redact(f"{last.error_class or 'SlackError'}: {last.error or 'no detail'}")[:300]
