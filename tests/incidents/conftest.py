from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Ingest tests watch the timeline exactly: the response pipeline has its own tests."""
    return {"PIPELINE_ENABLED": False}
