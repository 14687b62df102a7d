"""Scale a deployment through its /scale subresource, capped by REMEDIATION_MAX_REPLICAS."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from pydantic import Field, model_validator

from app.response.kube import apps_api, read_deployment
from app.response.remediation.base import Action, ActionContext, ActionParams, Plan, Step


class ScaleParams(ActionParams):
    replicas: int | None = Field(default=None, ge=1)  # absolute target
    add: int | None = Field(default=None, ge=1)  # or a step up from the current count
    max_replicas: int | None = Field(
        default=None, ge=1
    )  # per-scenario cap (global cap applies too)

    @model_validator(mode="after")
    def _one_of(self) -> ScaleParams:
        if (self.replicas is None) == (self.add is None):
            raise ValueError("give exactly one of `replicas` or `add`")
        return self


class ScaleDeployment(Action):
    name = "scale_deployment"
    params_model: ClassVar[type[ActionParams]] = ScaleParams

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        params = plan.params
        assert isinstance(params, ScaleParams)  # type narrowing  # nosec B101
        scale = await asyncio.to_thread(
            apps_api(ctx.require_kube()).read_namespaced_deployment_scale,
            plan.target,
            plan.namespace,
            _request_timeout=ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )
        current = int(scale.spec.replicas or 0)
        wanted = params.replicas if params.replicas is not None else current + (params.add or 0)
        cap = min(ctx.settings.REMEDIATION_MAX_REPLICAS, params.max_replicas or wanted)
        target = min(wanted, cap)
        detail = {"requested": wanted, "cap": cap, "capped": target < wanted}
        # Remediation only ever scales up: scaling down is not a fix for an alert.
        return Step(from_=current, to=max(target, current), detail=detail, noop=target <= current)

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        await asyncio.to_thread(
            apps_api(ctx.require_kube()).patch_namespaced_deployment_scale,
            plan.target,
            plan.namespace,
            {"spec": {"replicas": step.to}},
            _request_timeout=ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        deployment = await read_deployment(
            ctx.require_kube(),
            plan.target,
            plan.namespace,
            ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )
        ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
        return bool(deployment.spec.replicas == step.to and ready >= step.to)
