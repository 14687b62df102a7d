"""The remediation vocabulary: how one action ended, how the whole remediation ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ActionResult(StrEnum):
    """`result` of one action record on the incident."""

    PENDING = "pending"  # intent committed, the action is (or was, if its worker died) acting
    SUCCESS = "success"  # acted and the re-check confirmed the fix
    FAILURE = "failure"
    DRY_RUN = "dry_run"
    NOOP = "noop"  # already in the desired state
    BLOCKED = "blocked"  # an allowlist forbids it
    COOLDOWN = "cooldown"  # the (action, target) acted recently, maybe for another incident
    SKIPPED = "skipped"  # the per-incident action cap is reached


class RemediationStatus(StrEnum):
    """How remediation ended for the incident; escalation decides on it."""

    RESOLVED = "resolved"  # a verified fix
    FAILED = "failed"
    NOT_REMEDIATED = "not_remediated"  # nothing acted (dry run, no rule, guards)
    INACTIVE = "inactive"  # resolved or closed meanwhile
    OFF = "off"  # REMEDIATION_MODE=off


@dataclass
class Outcome:
    status: RemediationStatus
    records: list[dict[str, Any]] = field(default_factory=list)


class Gate(StrEnum):
    """Whether an enforced action may act, decided with its intent record (one transaction)."""

    OK = "ok"
    INACTIVE = "inactive"
    CAP = "cap"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class Verdict:
    gate: Gate
    until: datetime | None = None  # the end of the cooldown another holder keeps

    @property
    def reason(self) -> str:
        """The guard's reason as stored on the record (`cap`, `cooldown until <time>`)."""
        if self.gate is Gate.COOLDOWN and self.until is not None:
            return f"cooldown until {self.until.isoformat()}"
        return self.gate.value
