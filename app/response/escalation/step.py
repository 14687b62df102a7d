"""One pass's hold on a group: its claim, the peer calls it makes, the writes it commits.

Each write renews the claim (or lets go of it) and fails with Lost when another worker took
the group over after our claim expired, so a slow pass never overwrites a newer one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.core.http import Attempt, RetryPolicy, request_with_retries
from app.response.context import PipelineContext
from app.response.escalation import groups, ledger, pagerduty, slack
from app.response.models import PageGroup

ONE_TRY = RetryPolicy(max_attempts=1, max_total_seconds=0)
OPEN = ("triggered", "acknowledged")


class Lost(RuntimeError):
    """Our claim on the group expired (we were too slow); whoever holds it now carries on."""


class Step:
    """The claimed group and what this pass changed; row changes wait in `pending` and are
    committed with the next audited call, or when the claim is released."""

    def __init__(self, deps: PipelineContext, g: PageGroup, owner: str, now: datetime) -> None:
        self.deps, self.g, self.owner, self.now = deps, g, owner, now
        self.pending: dict[str, Any] = {}

    async def write(
        self,
        values: dict[str, Any] | None = None,
        *,
        call: dict[str, Any] | None = None,
        decision: tuple[str, str, tuple[str, ...]] | None = None,
        release: bool = False,
    ) -> None:
        """Commit row changes, an audited call and a group decision together, still under
        our claim (renewed, or let go with `release`)."""
        values = {**self.pending, **(values or {})}
        self.pending = {}
        s = self.deps.settings
        claim = (
            {"owner": None, "lease_until": None}
            if release
            else {"lease_until": groups.lease(s.PAGE_LEASE_SECONDS)}
        )
        async with self.deps.sessionmaker() as session, session.begin():
            row = await session.scalar(
                update(PageGroup)
                .where(PageGroup.key == self.g.key, PageGroup.owner == self.owner)
                .values(**values, **claim)
                .returning(PageGroup)
            )
            if row is None:
                raise Lost(self.g.key)
            if call is not None:
                ledger.record_call(session, self.g.key, self.g.episode, now=self.now, **call)
            if decision is not None:
                what, note, only_from = decision
                await ledger.decide(
                    session, None, what, note, group=self.g.key, only_from=only_from
                )
            self.g = row

    async def call(
        self, channel: str, event: str, body: dict[str, Any]
    ) -> tuple[bool | None, Attempt | None]:
        """One attempt at the peer: (True, …) delivered, (False, …) failed, (None, None) when
        the channel is not configured."""
        s = self.deps.settings
        if channel == "pagerduty":
            if s.PAGERDUTY_ROUTING_KEY is None:
                return None, None
            client, url = self.deps.pagerduty, s.PAGERDUTY_EVENTS_URL
            retry = pagerduty.RETRY_STATUS
        else:
            if s.SLACK_WEBHOOK_URL is None:
                return None, None
            client, url = self.deps.slack, s.SLACK_WEBHOOK_URL.get_secret_value()
            retry = slack.RETRY_STATUS
        outcome = await request_with_retries(
            client, "POST", url, policy=ONE_TRY, retry_status=retry, json=body
        )
        return outcome.ok, outcome.last

    def backoff(self, attempts: int, attempt: Attempt | None) -> datetime:
        s = self.deps.settings
        delay = min(
            s.PAGE_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), s.PAGE_RETRY_MAX_DELAY_SECONDS
        )
        if attempt is not None and attempt.retry_after:
            delay = max(delay, attempt.retry_after)
        if attempt is not None and attempt.status == 400:
            # The event itself was refused: the same body cannot succeed, so retry only at the
            # slowest pace (never abandoned; the overdue notice says it is stuck).
            delay = s.PAGE_RETRY_MAX_DELAY_SECONDS
        return self.now + timedelta(seconds=delay)


def call_record(
    channel: str, event: str, result: str, attempt: Attempt | None, **detail: Any
) -> dict[str, Any]:
    return {
        "channel": channel,
        "event": event,
        "result": result,
        "attempt": attempt,
        "detail": detail or None,
    }
