"""The action registry: every action the rules file may name."""

from __future__ import annotations

from app.incidents.remediation.base import Action
from app.incidents.remediation.logs import DeleteOldLogs
from app.incidents.remediation.pods import DeletePods
from app.incidents.remediation.postgres import TerminateIdleTransactions
from app.incidents.remediation.restart import RolloutRestart
from app.incidents.remediation.scale import ScaleDeployment

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
