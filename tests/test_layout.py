"""The package layout holds: imports flow one way, modules stay small."""

from __future__ import annotations

import ast
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
MAX_LINES = 350


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_incidents_never_import_the_response_pipeline() -> None:
    """Response may import incidents, never the reverse."""
    offenders = {
        str(path.relative_to(APP)): sorted(
            n for n in _imports(path) if n.startswith("app.response")
        )
        for path in (APP / "incidents").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_no_domain() -> None:
    domains = ("app.incidents", "app.response", "app.push")
    offenders = {
        str(path.relative_to(APP)): sorted(n for n in _imports(path) if n.startswith(domains))
        for path in (APP / "core").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_module_over_the_size_cap() -> None:
    sizes = {
        str(path.relative_to(APP)): len(path.read_text(encoding="utf-8").splitlines())
        for path in APP.rglob("*.py")
    }
    assert {k: n for k, n in sizes.items() if n > MAX_LINES} == {}


def test_every_data_file_under_app_is_packaged() -> None:
    """A wheel carries the rules file, templates and static files (editable installs hide it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    missing = []
    for path in APP.rglob("*"):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(ROOT)
        packaged = any(
            relative.is_relative_to(Path(*package.split(".")))
            and any(
                fnmatch(str(relative.relative_to(Path(*package.split(".")))), g) for g in patterns
            )
            for package, patterns in globs.items()
        )
        if not packaged:
            missing.append(str(relative))
    assert missing == []
