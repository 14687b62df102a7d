"""The Kubernetes client pays its lazy imports when the worker starts, not in a pipeline."""

from __future__ import annotations

import subprocess
import sys

# A fresh interpreter: this test process may have imported the client's modules already.
_PROBE = """
import sys
from types import SimpleNamespace
from app.response.kube import apps_api, build_api_client, core_api
settings = SimpleNamespace(
    KUBECONFIG=None, KUBERNETES_API_URL="http://127.0.0.1:9", KUBERNETES_VERIFY_SSL=False
)
api_client = build_api_client(settings)
before = len(sys.modules)
apps_api(api_client)
core_api(api_client)
print(len(sys.modules) - before)
"""


def test_building_the_apis_a_pipeline_uses_imports_nothing_after_start_up() -> None:
    # The first build of an API imports its module and models (about 280 modules, 600 ms with
    # the GIL held): on the event loop, that stalled every webhook of the worker.
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert probe.stdout.strip() == "0", probe.stdout + probe.stderr
