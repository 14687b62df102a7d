"""Real peers (Alertmanager, Prometheus, Chromium): with CI=true a missing one fails the run."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, debian_package: str) -> str:
    """Path of `name`; otherwise fail under CI, skip (saying why) elsewhere."""
    path = shutil.which(name) or (
        f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None
    )
    if path:
        return path
    reason = f"{name} not installed (Debian package {debian_package}; scripts/install_peers.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
