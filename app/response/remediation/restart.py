"""Rollout restart: the pod-template annotation patch that `kubectl rollout restart` sends."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from app.response.kube import apps_api, read_deployment
from app.response.remediation.base import Action, ActionContext, ActionParams, Plan, Step

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class RestartParams(ActionParams):
    pass


class RolloutRestart(Action):
    name = "rollout_restart"
    params_model: ClassVar[type[ActionParams]] = RestartParams

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        deployment = await read_deployment(
            ctx.require_kube(),
            plan.target,
            plan.namespace,
            ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )
        template = deployment.spec.template
        annotations = (template.metadata.annotations or {}) if template.metadata else {}
        return Step(
            from_=annotations.get(RESTARTED_AT),
            to=ctx.now_iso,
            detail={"generation": deployment.metadata.generation},
        )

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: step.to}}}}}
        await asyncio.to_thread(
            apps_api(ctx.require_kube()).patch_namespaced_deployment,
            plan.target,
            plan.namespace,
            body,
            _request_timeout=ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        """Rolled out: our annotation is in the template and every replica is new and ready."""
        d = await read_deployment(
            ctx.require_kube(),
            plan.target,
            plan.namespace,
            ctx.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
        )
        annotations = (
            (d.spec.template.metadata.annotations or {}) if d.spec.template.metadata else {}
        )
        status = d.status
        if annotations.get(RESTARTED_AT) != step.to or status is None:
            return False
        desired = d.spec.replicas or 0
        return bool(
            (status.observed_generation or 0) >= (d.metadata.generation or 0)
            and (status.updated_replicas or 0) >= desired
            and (status.ready_replicas or 0) >= desired
        )
