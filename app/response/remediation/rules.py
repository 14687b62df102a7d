"""The rules file: alertname -> scenario -> action; validated completely at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.response.remediation.base import ActionParams, Plan
from app.response.remediation.registry import ACTIONS

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")


class RulesError(ValueError):
    """The rules file is invalid; the message names the scenario and the problem."""


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    alertname: str = Field(min_length=1)
    description: str = Field(min_length=1)
    action: str | None = None  # None: no safe automatic fix, escalate only
    target: str | None = None  # template: "{service}", "{service|email-service}"
    namespace: str = "{namespace|}"  # empty after templating -> KUBERNETES_NAMESPACE
    match: dict[str, str] = Field(default_factory=dict)  # extra label equality matchers
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _action_known(self) -> Scenario:
        if self.action is None:
            if self.target or self.params:
                raise ValueError("an escalate-only scenario takes no target or params")
            return self
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; known: {sorted(ACTIONS)}")
        if not self.target:
            raise ValueError("an action needs a target")
        return self


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=1)
    scenarios: list[Scenario] = Field(min_length=1)


def fill(template: str, values: dict[str, str]) -> str | None:
    """Replace `{label}` / `{label|default}`; None when a label without default is missing."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1)) or match.group(2)
        if value is None:
            missing = True
            return ""
        return value

    result = _PLACEHOLDER.sub(one, template)
    return None if missing else result


@dataclass(frozen=True)
class RuleSet:
    scenarios: tuple[Scenario, ...]
    params: dict[str, ActionParams]  # by scenario name, parsed by the action's model

    def matching(self, alertname: str, labels: dict[str, str]) -> list[Scenario]:
        return [
            s
            for s in self.scenarios
            if s.alertname == alertname and all(labels.get(k) == v for k, v in s.match.items())
        ]

    def plans(
        self, alertname: str, labels: dict[str, str], default_namespace: str
    ) -> tuple[list[Plan], list[str]]:
        """Plans for an alert, and the scenarios that matched but could not be filled in."""
        plans: list[Plan] = []
        unfilled: list[str] = []
        values = {**labels, "alertname": alertname}
        for scenario in self.matching(alertname, labels):
            if scenario.action is None or scenario.target is None:
                continue
            target = fill(scenario.target, values)
            namespace = fill(scenario.namespace, values) or default_namespace
            if not target:
                unfilled.append(scenario.name)
                continue
            plans.append(
                Plan(scenario.name, scenario.action, target, namespace, self.params[scenario.name])
            )
        return plans, unfilled


def parse_rules(raw: Any, source: str = "rules") -> RuleSet:
    try:
        rules = RulesFile.model_validate(raw)
    except ValidationError as exc:
        raise RulesError(f"{source}: {exc}") from None
    names = [s.name for s in rules.scenarios]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RulesError(f"{source}: duplicate scenario names {duplicates}")
    params: dict[str, ActionParams] = {}
    for s in rules.scenarios:
        if s.action is None:
            continue
        try:
            params[s.name] = ACTIONS[s.action].params_model.model_validate(s.params)
        except ValidationError as exc:
            raise RulesError(f"{source}: scenario {s.name!r} params: {exc}") from None
    return RuleSet(tuple(rules.scenarios), params)


def load_rules(path: Path | None) -> RuleSet:
    """Read and validate the rules file (the packaged one by default)."""
    target = path or DEFAULT_RULES
    try:
        raw = yaml.safe_load(target.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{target}: cannot read rules: {exc}") from None
    return parse_rules(raw, str(target))
