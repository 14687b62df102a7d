"""Run an incident's remediation plans through the guards, recording every action.

Crash safety: before an enforced action touches anything, its record is committed as
`pending` together with the cooldown claim. A worker that finds a `pending` record from
a dead predecessor re-checks (verifies) instead of acting again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.core.redact import error_text
from app.incidents.models import ACTIVE_STATUSES
from app.incidents.timeline import add_event
from app.response.claims import lock_owned
from app.response.context import PipelineContext
from app.response.metrics import REMEDIATION_ATTEMPTS
from app.response.remediation import guards
from app.response.remediation.base import Action, ActionContext, Plan, Step
from app.response.remediation.outcome import (
    ActionResult,
    Gate,
    Outcome,
    RemediationStatus,
    Verdict,
)
from app.response.remediation.registry import ACTIONS
from app.response.snapshot import IncidentSnapshot

log = logging.getLogger(__name__)


R = ActionResult


class Remediator:
    def __init__(self, deps: PipelineContext, view: IncidentSnapshot, owner: str) -> None:
        self.deps = deps
        self.view = view
        self.owner = owner
        self.mode = deps.settings.REMEDIATION_MODE
        self.ctx = ActionContext(deps.settings, deps.kube, deps.clock.now().isoformat())

    async def _write(self, record: dict[str, Any], *, claim: Action | None = None) -> Verdict:
        """Store `record` on the incident (fenced); with `claim`, pass cap + cooldown first."""
        async with self.deps.sessionmaker() as session, session.begin():
            incident = await lock_owned(session, self.view.id, self.owner)
            if incident.status not in ACTIVE_STATUSES:
                return Verdict(Gate.INACTIVE)
            records = [r for r in (incident.remediation_actions or []) if r["id"] != record["id"]]
            if claim is not None:
                cap = self.deps.settings.REMEDIATION_MAX_ACTIONS_PER_INCIDENT
                if guards.executed_count(records) >= cap:
                    return Verdict(Gate.CAP)
                held = await guards.claim_cooldown(
                    session,
                    claim.name,
                    record["cooldown_key"],
                    self.view.id,
                    self.deps.settings.REMEDIATION_COOLDOWN_SECONDS,
                )
                if held is not None:
                    return Verdict(Gate.COOLDOWN, held)
            incident.remediation_actions = [*records, record]
            await add_event(
                session,
                self.view.id,
                "remediation",
                "remediation",
                note=f"{record['action']} {record['target']}: {record['result']}",
                data=record,
            )
        return Verdict(Gate.OK)

    async def _finish(
        self, record: dict[str, Any], result: ActionResult, error: str | None = None
    ) -> None:
        record.update(result=result, error=error)
        if result is R.SUCCESS:
            record["success"] = True
        elif result is not R.DRY_RUN:
            record["success"] = False
        await self._write(record)
        REMEDIATION_ATTEMPTS.labels(record["action"], result).inc()

    async def _verify(self, action: Action, plan: Plan, step: Step) -> tuple[bool, str | None]:
        """Re-check until it holds or REMEDIATION_VERIFY_TIMEOUT_SECONDS has passed."""
        s = self.deps.settings
        deadline = time.monotonic() + s.REMEDIATION_VERIFY_TIMEOUT_SECONDS
        last_error: str | None = None
        while True:
            try:
                if await action.verify(self.ctx, plan, step):
                    return True, None
                last_error = "re-check after the action did not confirm the fix"
            except Exception as exc:  # a failing re-check is a failed verification
                last_error = "re-check failed: " + error_text(exc)
            if time.monotonic() >= deadline:
                return False, last_error
            await self.deps.sleep(s.REMEDIATION_VERIFY_INTERVAL_SECONDS)

    def _record(self, plan: Plan, action: Action) -> dict[str, Any]:
        return {
            "id": f"{plan.scenario}:{plan.target}",
            "scenario": plan.scenario,
            "action": plan.action,
            "target": plan.target,
            "namespace": plan.namespace if action.target_kind == "deployment" else None,
            "from": None,
            "to": None,
            "timestamp": self.deps.clock.now().isoformat(),
            "success": False,
            "dry_run": self.mode == "dry_run",
            "error": None,
            "result": None,
            "cooldown_key": guards.cooldown_target(action, plan),
        }

    async def _resume(self, action: Action, plan: Plan, record: dict[str, Any]) -> None:
        """A predecessor died after committing intent: verify, never act twice."""
        step = Step(record["from"], record["to"], record.get("detail") or {})
        ok, error = await self._verify(action, plan, step)
        record["verified"] = ok
        record["resumed"] = True
        await self._finish(record, R.SUCCESS if ok else R.FAILURE, error)

    async def _run_plan(self, plan: Plan) -> bool:
        """One plan through the guards; False when the incident is no longer active."""
        action = ACTIONS[plan.action]
        existing = next(
            (
                r
                for r in self.view.remediation_actions
                if r["id"] == f"{plan.scenario}:{plan.target}"
            ),
            None,
        )
        if existing is not None:
            if existing.get("result") == R.PENDING:
                await self._resume(action, plan, existing)
            return True
        record = self._record(plan, action)
        blocked = guards.allowlist_block(self.deps.settings, action, plan)
        if blocked:
            await self._finish(record, R.BLOCKED, "guard: " + blocked)
            return True
        try:
            step = await action.inspect(self.ctx, plan)
        except Exception as exc:  # the target could not even be read: a failed action
            await self._finish(record, R.FAILURE, "inspect failed: " + error_text(exc))
            return True
        record.update({"from": step.from_, "to": step.to, "detail": step.detail})
        if step.noop:
            await self._finish(record, R.NOOP, "already in the desired state")
            return True
        if self.mode == "dry_run":
            record["success"] = None
            await self._finish(record, R.DRY_RUN)
            return True
        record["result"] = R.PENDING
        record["success"] = None
        verdict = await self._write(record, claim=action)
        if verdict.gate is Gate.INACTIVE:
            return False
        if verdict.gate is not Gate.OK:
            record["result"], record["success"] = None, False
            result = R.COOLDOWN if verdict.gate is Gate.COOLDOWN else R.SKIPPED
            await self._finish(record, result, "guard: " + verdict.reason)
            return True
        try:
            await action.apply(self.ctx, plan, step)
        except Exception as exc:  # the peer refused or failed: recorded, then escalated
            await self._finish(record, R.FAILURE, error_text(exc))
            return True
        record["detail"] = step.detail
        ok, error = await self._verify(action, plan, step)
        record["verified"] = ok
        await self._finish(record, R.SUCCESS if ok else R.FAILURE, error)
        return True

    async def run(self) -> Outcome:
        if self.mode == "off":
            return Outcome(RemediationStatus.OFF)
        if not self.view.active:
            return Outcome(RemediationStatus.INACTIVE)
        plans, unfilled = self.deps.rules.plans(
            self.view.alert_name,
            self.view.labels,
            self.view.namespace(self.deps.settings.KUBERNETES_NAMESPACE),
        )
        if unfilled:
            log.info(
                "scenario labels missing", extra={"incident": self.view.id, "scenarios": unfilled}
            )
        for plan in plans:
            if not await self._run_plan(plan):
                return Outcome(RemediationStatus.INACTIVE)
        return await self._outcome()

    async def _outcome(self) -> Outcome:
        async with self.deps.sessionmaker() as session:
            incident = await lock_owned(session, self.view.id, self.owner)
            records = list(incident.remediation_actions or [])
        results = {r.get("result") for r in records}
        if R.FAILURE in results:
            return Outcome(RemediationStatus.FAILED, records)
        if R.SUCCESS in results:
            return Outcome(RemediationStatus.RESOLVED, records)
        return Outcome(RemediationStatus.NOT_REMEDIATED, records)


async def remediate(deps: PipelineContext, view: IncidentSnapshot, owner: str) -> Outcome:
    """Apply the rules to the incident under every guard; the outcome decides escalation."""
    return await Remediator(deps, view, owner).run()
