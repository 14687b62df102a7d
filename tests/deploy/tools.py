"""Deployment validators: in .venv-tools (scripts/install_tools.sh) or on PATH.

With CI=true a missing one fails the run; elsewhere its test skips and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def require_tool(name: str, how: str = "scripts/install_tools.sh installs it") -> str:
    """Path of the validator `name`."""
    candidate = TOOLS_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    _missing(f"{name} not installed ({how})")
    raise AssertionError("unreachable")


def run(args: list[str], *, cwd: Path = ROOT, timeout: float = 300) -> str:
    """Run a validator; fail the test with its whole output unless it exits 0."""
    result = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{output}"
    return output


def render_kustomize() -> str:
    """`kubectl kustomize k8s`: the manifests exactly as `kubectl apply -k k8s` sends them."""
    kubectl = require_tool(
        "kubectl", "kubectl is on the machine image; install it from your distribution"
    )
    return run([kubectl, "kustomize", str(ROOT / "k8s")])
