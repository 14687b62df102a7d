"""Run every provider concurrently: each with its own timeout, the whole bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from app.core.redact import error_text
from app.response.context import PipelineContext
from app.response.diagnostics import dependencies, kubernetes, prometheus
from app.response.kube import KubernetesUnavailable
from app.response.metrics import DIAGNOSTICS_DURATION
from app.response.snapshot import IncidentSnapshot


def template_values(view: IncidentSnapshot, namespace: str) -> dict[str, str]:
    """Alert labels plus `service` and `namespace`, for PromQL templates."""
    return {**view.labels, "service": view.service or "", "namespace": namespace}


async def _timed(provider: str, work: Awaitable[Any], timeout: float) -> Any:
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(work, timeout)
    finally:
        DIAGNOSTICS_DURATION.labels(provider).observe(time.perf_counter() - started)


async def _kubernetes(deps: PipelineContext, view: IncidentSnapshot, namespace: str) -> Any:
    if deps.kube is None:
        raise KubernetesUnavailable(deps.kube_error or "not configured")
    names = [n for n in (view.labels.get("deployment"), view.service) if n]
    timeout = deps.settings.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS
    return await kubernetes.diagnose(deps.kube, list(dict.fromkeys(names)), namespace, timeout)


def _error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return error_text(exc, 300)


async def collect(deps: PipelineContext, view: IncidentSnapshot) -> dict[str, Any]:
    """`{"pods", "metrics", "dependencies", ...}` as in the spec; failures land in `errors`."""
    s = deps.settings
    namespace = view.namespace(s.KUBERNETES_NAMESPACE)
    started = time.perf_counter()
    jobs: dict[str, asyncio.Task[Any]] = {
        "kubernetes": asyncio.create_task(
            _timed(
                "kubernetes",
                _kubernetes(deps, view, namespace),
                s.DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS,
            )
        ),
        "prometheus": asyncio.create_task(
            _timed(
                "prometheus",
                prometheus.diagnose(
                    deps.http,
                    s.PROMETHEUS_URL,
                    s.DIAGNOSTICS_QUERIES,
                    template_values(view, namespace),
                    s.DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS,
                ),
                # several queries run one after the other inside this provider's budget
                s.DIAGNOSTICS_PROMETHEUS_TIMEOUT_SECONDS * max(1, len(s.DIAGNOSTICS_QUERIES)),
            )
        ),
        "dependencies": asyncio.create_task(
            _timed(
                "dependencies",
                dependencies.diagnose(
                    deps.http, s.DIAGNOSTICS_DEPENDENCIES, s.DIAGNOSTICS_DEPENDENCY_TIMEOUT_SECONDS
                ),
                s.DIAGNOSTICS_DEPENDENCY_TIMEOUT_SECONDS + 1,
            )
        ),
    }
    done, pending = await asyncio.wait(jobs.values(), timeout=s.DIAGNOSTICS_TOTAL_TIMEOUT_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)

    errors: dict[str, Any] = {}
    results: dict[str, Any] = {}
    for name, task in jobs.items():
        if task in pending:
            errors[name] = "timeout (diagnostics budget exhausted)"
        elif (exc := task.exception()) is not None:
            errors[name] = _error(exc)
        else:
            results[name] = task.result()

    metrics: dict[str, float | None] = {name: None for name in s.DIAGNOSTICS_QUERIES}
    if "prometheus" in results:
        metrics, query_errors = results["prometheus"]
        if query_errors:
            errors["prometheus"] = query_errors
    details: dict[str, Any] = results.get("dependencies", {})
    elapsed = time.perf_counter() - started
    DIAGNOSTICS_DURATION.labels("all").observe(elapsed)
    return {
        "pods": results.get("kubernetes", {}),
        "metrics": metrics,
        "dependencies": {name: d["status"] for name, d in details.items()},
        "dependency_details": details,
        "namespace": namespace,
        "errors": errors,
        "duration_ms": round(elapsed * 1000, 1),
        "collected_at": deps.clock.now().isoformat(),
    }
