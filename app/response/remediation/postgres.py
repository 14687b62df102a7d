"""Terminate idle-in-transaction sessions on a configured PostgreSQL target.

Never this service's own sessions: every connection the service opens carries an
`ops-backend…` application_name, and the filter excludes those as well as the
connection doing the terminating.
"""

from __future__ import annotations

from typing import ClassVar

import asyncpg
from pydantic import Field

from app.core.redact import error_text
from app.response.remediation.base import (
    Action,
    ActionContext,
    ActionFailed,
    ActionParams,
    Plan,
    Step,
)

APPLICATION_NAME = "ops-backend-remediation"

_IDLE = """
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND state = ANY($1::text[])
      AND state_change < now() - make_interval(secs => $2)
      AND pid <> pg_backend_pid()
      AND application_name NOT LIKE 'ops-backend%'
      AND backend_type = 'client backend'
"""
COUNT_SQL = "SELECT count(*)" + _IDLE
TERMINATE_SQL = "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))" + _IDLE


class TerminateParams(ActionParams):
    idle_seconds: float = Field(default=300, ge=0)
    states: list[str] = Field(
        default_factory=lambda: ["idle in transaction", "idle in transaction (aborted)"],
        min_length=1,
    )


class TerminateIdleTransactions(Action):
    name = "terminate_idle_transactions"
    params_model: ClassVar[type[ActionParams]] = TerminateParams
    target_kind = "postgres"

    async def _run(self, ctx: ActionContext, plan: Plan, sql: str) -> int:
        params = plan.params
        assert isinstance(params, TerminateParams)  # type narrowing  # nosec B101
        secret = ctx.settings.REMEDIATION_POSTGRES_TARGETS.get(plan.target)
        if secret is None:
            raise ActionFailed(f"no REMEDIATION_POSTGRES_TARGETS entry named {plan.target!r}")
        dsn = secret.get_secret_value()
        try:
            conn = await asyncpg.connect(
                dsn,
                timeout=ctx.settings.DIAGNOSTICS_DEPENDENCY_TIMEOUT_SECONDS,
                server_settings={"application_name": APPLICATION_NAME},
            )
            try:
                count = await conn.fetchval(sql, params.states, float(params.idle_seconds))
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise ActionFailed(error_text(exc, extra_secrets=[dsn])) from None
        return int(count or 0)

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        found = await self._run(ctx, plan, COUNT_SQL)
        return Step(from_=found, to=0, noop=found == 0)

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        step.detail["terminated"] = await self._run(ctx, plan, TERMINATE_SQL)

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        return await self._run(ctx, plan, COUNT_SQL) == 0
