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
        assert isinstance(params, DeletePodsParams)  # type narrowing  # nosec B101
        timeout = ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS
        deployment = await read_deployment(ctx.require_kube(), plan.target, plan.namespace, timeout)
        pods = await list_pods(ctx.require_kube(), deployment, plan.namespace, timeout)
        wanted = set(params.reasons)
        return [p for p in pods if wanted & set(pod_reasons(p))]

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        params = plan.params
        assert isinstance(params, DeletePodsParams)  # type narrowing  # nosec B101
        pods = sorted(await self._matching(ctx, plan), key=lambda p: p.metadata.name)
        chosen = pods[: params.max_pods]
        return Step(
            from_=len(pods),
            to=0,
            detail={
                "pods": [p.metadata.name for p in chosen],
                # Deleted with a uid precondition: a same-named pod created since is not touched.
                "uids": {p.metadata.name: p.metadata.uid for p in chosen if p.metadata.uid},
                "reasons": params.reasons,
            },
            noop=not pods,
        )

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        api = core_api(ctx.require_kube())
        failures = []
        uids: dict[str, str] = step.detail.get("uids") or {}
        for name in step.detail["pods"]:
            uid = uids.get(name)
            try:
                await asyncio.to_thread(
                    api.delete_namespaced_pod,
                    name,
                    plan.namespace,
                    body={"preconditions": {"uid": uid}} if uid else None,
                    _request_timeout=ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
                )
            except Exception as exc:  # gone (or replaced: 409 on the uid) is fine; else reported
                if not is_not_found(exc) and getattr(exc, "status", None) != 409:
                    failures.append(f"{name}: {type(exc).__name__}")
        if failures:
            raise ActionFailed("could not delete " + ", ".join(failures))

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        return not await self._matching(ctx, plan)
