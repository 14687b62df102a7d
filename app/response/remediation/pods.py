"""Delete a deployment's pods stuck in a bad state (CrashLoopBackOff, Evicted, …)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import Field

from app.response.kube import (
    core_api,
    is_not_found,
    list_pods,
    pod_reasons,
    read_deployment,
)
from app.response.remediation.base import (
    Action,
    ActionContext,
    ActionFailed,
    ActionParams,
    Plan,
    Step,
)


class DeletePodsParams(ActionParams):
    reasons: list[str] = Field(min_length=1)
    max_pods: int = Field(default=5, ge=1, le=50)  # never wipe a whole large deployment


class DeletePods(Action):
    name = "delete_pods"
    params_model: ClassVar[type[ActionParams]] = DeletePodsParams

    async def _matching(self, ctx: ActionContext, plan: Plan) -> list[Any]:
        params = plan.params
        assert isinstance(params, DeletePodsParams)
        timeout = ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS
        deployment = await read_deployment(ctx.require_kube(), plan.target, plan.namespace, timeout)
        pods = await list_pods(ctx.require_kube(), deployment, plan.namespace, timeout)
        wanted = set(params.reasons)
        return [p for p in pods if wanted & set(pod_reasons(p))]

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        params = plan.params
        assert isinstance(params, DeletePodsParams)
        names = sorted(p.metadata.name for p in await self._matching(ctx, plan))
        chosen = names[: params.max_pods]
        return Step(
            from_=len(names),
            to=0,
            detail={"pods": chosen, "reasons": params.reasons},
            noop=not names,
        )

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        api = core_api(ctx.require_kube())
        failures = []
        for name in step.detail["pods"]:
            try:
                await asyncio.to_thread(
                    api.delete_namespaced_pod,
                    name,
                    plan.namespace,
                    _request_timeout=ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
                )
            except Exception as exc:  # gone already is fine; anything else is reported
                if not is_not_found(exc):
                    failures.append(f"{name}: {type(exc).__name__}")
        if failures:
            raise ActionFailed("could not delete " + ", ".join(failures))

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        return not await self._matching(ctx, plan)
