"""The rules file is validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.core.clock import FixedClock
from app.core.settings import Settings
from app.main import create_app
from app.response.remediation.rules import DEFAULT_RULES, RulesError, load_rules, parse_rules


def test_packaged_rules_cover_ten_scenarios_and_the_seed() -> None:
    rules = load_rules(DEFAULT_RULES)
    acting = [s for s in rules.scenarios if s.action]
    assert len(acting) >= 10
    plans, _ = rules.plans("KafkaConsumerLagHigh", {"service": "email-service"}, "production")
    [plan] = plans
    assert (plan.action, plan.target, plan.params.model_dump()["replicas"]) == (
        "scale_deployment",
        "email-service",
        6,
    )
    assert {s.action for s in acting} == {
        "scale_deployment",
        "rollout_restart",
        "delete_pods",
        "terminate_idle_transactions",
        "delete_old_logs",
    }


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"action": "reboot_cluster", "target": "x"}, "unknown action"),
        ({"action": "scale_deployment", "target": "x", "params": {"replicas": 0}}, "params"),
        (
            {"action": "scale_deployment", "target": "x", "params": {"replicas": 2, "add": 1}},
            "exactly one",
        ),
        ({"action": "delete_pods", "target": "x", "params": {"reasons": []}}, "params"),
        ({"action": "rollout_restart"}, "needs a target"),
        ({"action": "rollout_restart", "target": "x", "surprise": 1}, "Extra inputs"),
    ],
)
def test_invalid_scenarios_are_refused(scenario: dict[str, Any], message: str) -> None:
    raw = {
        "version": 1,
        "scenarios": [{"name": "s", "alertname": "A", "description": "d", **scenario}],
    }
    with pytest.raises(RulesError, match=message):
        parse_rules(raw)


def test_duplicate_names_are_refused() -> None:
    one = {"name": "s", "alertname": "A", "description": "d"}
    with pytest.raises(RulesError, match="duplicate"):
        parse_rules({"version": 1, "scenarios": [one, one]})


async def test_a_bad_rules_file_stops_the_start_up(
    settings: Settings, clock: FixedClock, tmp_path: Path, clean_db: None
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\nscenarios:\n  - name: x\n    alertname: A\n    action: nope\n")
    application = create_app(settings.model_copy(update={"REMEDIATION_RULES_FILE": bad}), clock)
    with pytest.raises(RulesError, match="rules.yaml"):
        async with application.router.lifespan_context(application):
            pass
