"""contracts/*.md name every field and enum value of their schemas (generated from the models)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import ROOT

CONTRACTS = ROOT / "contracts"
READMES = sorted(p for p in CONTRACTS.glob("*.md") if p.name != "README.md")


def _names(node: Any, found: set[str]) -> set[str]:
    """Every property name and every enum/const value anywhere in a schema."""
    if isinstance(node, dict):
        found.update(node.get("properties", {}))
        found.update(str(v) for v in node.get("enum", []) if v is not None)
        if isinstance(node.get("const"), str):
            found.add(node["const"])
        for value in node.values():
            _names(value, found)
    elif isinstance(node, list):
        for value in node:
            _names(value, found)
    return found


def _documented() -> dict[str, Path]:
    named = {}
    for readme in READMES:
        for schema in re.findall(r"`(\w+_v\d+)\.schema\.json`", readme.read_text()):
            named[f"{schema}.schema.json"] = readme
    return named


def test_every_schema_has_a_readme() -> None:
    documented = _documented()
    missing = [p.name for p in CONTRACTS.glob("*.schema.json") if p.name not in documented]
    assert not missing, f"no contracts/*.md names {missing}"


@pytest.mark.parametrize("schema", sorted(p.name for p in CONTRACTS.glob("*.schema.json")))
def test_readme_names_every_field_and_enum_value(schema: str) -> None:
    readme = _documented()[schema]
    text = readme.read_text()
    names = _names(json.loads((CONTRACTS / schema).read_text()), set())
    missing = sorted(n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text))
    assert not missing, f"{readme.name} does not mention {missing} from {schema}"
