"""What every remediation action implements: inspect (from/to), apply, verify."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from app.core.settings import Settings


class ActionParams(BaseModel):
    """Parameters a scenario passes to its action; unknown keys are a rules-file error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionFailed(RuntimeError):
    """The action could not be carried out; the message is stored (redacted) on the incident."""


@dataclass(frozen=True)
class Plan:
    """One scenario resolved for one incident: which action on which target."""

    scenario: str
    action: str
    target: str
    namespace: str
    params: ActionParams


@dataclass
class Step:
    """What the action found (`from`) and will bring about (`to`)."""

    from_: Any
    to: Any
    detail: dict[str, Any] = field(default_factory=dict)
    noop: bool = False  # already in the desired state: acting would change nothing


@dataclass
class ActionContext:
    settings: Settings
    kube: Any | None  # kubernetes ApiClient
    now_iso: str

    def require_kube(self) -> Any:
        if self.kube is None:
            raise ActionFailed("kubernetes is not configured")
        return self.kube


class Action(ABC):
    name: ClassVar[str]
    params_model: ClassVar[type[ActionParams]]
    # "deployment" targets are namespaced and checked against both allowlists.
    target_kind: ClassVar[str] = "deployment"

    @abstractmethod
    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        """Read the current state and compute the desired one (caps applied here)."""

    @abstractmethod
    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        """Change the world; raise ActionFailed (or any error) when it did not happen."""

    @abstractmethod
    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        """Re-check (a diagnostic) that the change took effect."""
