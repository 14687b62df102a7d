"""requirements/*.txt (scripts/lock.sh) cover pyproject.toml and agree with each other."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from tests.deploy.tools import ROOT

REQ = ROOT / "requirements"


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REQ / name).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def _names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", Requirement(r).name).lower() for r in requirements}


def test_locks_cover_pyproject_and_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _names(project["dependencies"])
    extras = set().union(*(_names(v) for v in project["optional-dependencies"].values()))
    main, dev = _pins("main.txt"), _pins("dev.txt")
    assert runtime - set(main) == set(), "run: bash scripts/lock.sh"
    assert (runtime | extras) - {"ops-backend"} - set(dev) == set(), "run: bash scripts/lock.sh"
    assert {n: v for n, v in dev.items() if n in main} == main  # one version per package
    assert "pgserver" not in main  # the embedded database stays out of the image
    for name, version in main.items():
        spec = next(
            (Requirement(r).specifier for r in project["dependencies"] if _names([r]) == {name}),
            None,
        )
        assert spec is None or spec.contains(version), f"{name}=={version} outside {spec}"
