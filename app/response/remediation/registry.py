"""The action registry: every action the rules file may name."""

from __future__ import annotations

from app.response.remediation.base import Action
from app.response.remediation.logs import DeleteOldLogs
from app.response.remediation.pods import DeletePods
from app.response.remediation.postgres import TerminateIdleTransactions
from app.response.remediation.restart import RolloutRestart
from app.response.remediation.scale import ScaleDeployment

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        ScaleDeployment(),
        RolloutRestart(),
        DeletePods(),
        TerminateIdleTransactions(),
        DeleteOldLogs(),
    )
}
