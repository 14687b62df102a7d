"""Pod diagnostics: deployment and pod summaries read through `app.response.kube`."""

from __future__ import annotations

from typing import Any

from app.response.kube import is_not_found, list_pods, pod_reasons, read_deployment

# Reasons an on-call engineer looks for first; the first one found names the status.
NOTABLE_REASONS = ("CrashLoopBackOff", "OOMKilled", "Evicted", "ImagePullBackOff", "ErrImagePull")


def pod_summary(pod: Any) -> dict[str, Any]:
    statuses = (pod.status.container_statuses or []) if pod.status else []
    return {
        "name": pod.metadata.name,
        "phase": pod.status.phase if pod.status else None,
        "ready": all(cs.ready for cs in statuses) and bool(statuses),
        "restarts": sum(cs.restart_count or 0 for cs in statuses),
        "reasons": pod_reasons(pod),
    }


def deployment_summary(deployment: Any, pods: list[Any]) -> dict[str, Any]:
    """`{"ready": "3/3", "status": "Running", ...}` as in the spec, plus the pods' details."""
    desired = deployment.spec.replicas or 0
    ready = (deployment.status.ready_replicas or 0) if deployment.status else 0
    summaries = [pod_summary(p) for p in pods]
    found = [r for s in summaries for r in s["reasons"]]
    notable = next((r for r in NOTABLE_REASONS if r in found), None)
    if notable:
        status = notable
    elif ready >= desired and all(s["phase"] == "Running" for s in summaries):
        status = "Running"
    else:
        status = "Degraded"
    return {
        "ready": f"{ready}/{desired}",
        "status": status,
        "desired": desired,
        "ready_replicas": ready,
        "restarts": sum(s["restarts"] for s in summaries),
        "pods": summaries,
    }


async def diagnose(
    api_client: Any, names: list[str], namespace: str, timeout: float
) -> dict[str, Any]:
    """Deployment + pod summaries for each name; a missing deployment is data, not an error."""
    result: dict[str, Any] = {}
    for name in names:
        try:
            deployment = await read_deployment(api_client, name, namespace, timeout)
        except Exception as exc:
            if not is_not_found(exc):
                raise
            result[name] = {"status": "NotFound", "ready": "0/0", "namespace": namespace}
            continue
        pods = await list_pods(api_client, deployment, namespace, timeout)
        result[name] = {**deployment_summary(deployment, pods), "namespace": namespace}
    return result
