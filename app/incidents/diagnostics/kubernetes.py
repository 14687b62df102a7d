"""Kubernetes through the official (blocking) client, always called off the event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from app.core.settings import Settings

# Reasons an on-call engineer looks for first; the first one found names the status.
NOTABLE_REASONS = ("CrashLoopBackOff", "OOMKilled", "Evicted", "ImagePullBackOff", "ErrImagePull")


class KubernetesUnavailable(RuntimeError):
    """No configuration: neither in-cluster, nor KUBECONFIG, nor KUBERNETES_API_URL."""


def build_api_client(settings: Settings) -> Any:
    """ApiClient from KUBERNETES_API_URL, KUBECONFIG or the in-cluster service account."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    try:
        if settings.KUBECONFIG:
            config.load_kube_config(
                config_file=settings.KUBECONFIG, client_configuration=configuration
            )
        elif not settings.KUBERNETES_API_URL:
            config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        raise KubernetesUnavailable(str(exc)) from None
    if settings.KUBERNETES_API_URL:
        configuration.host = settings.KUBERNETES_API_URL
    configuration.verify_ssl = settings.KUBERNETES_VERIFY_SSL
    return client.ApiClient(configuration)


def apps_api(api_client: Any) -> Any:
    from kubernetes import client

    return client.AppsV1Api(api_client)


def core_api(api_client: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client)


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "status", None) == 404


async def read_deployment(api_client: Any, name: str, namespace: str, timeout: float) -> Any:
    return await asyncio.to_thread(
        apps_api(api_client).read_namespaced_deployment,
        name,
        namespace,
        _request_timeout=timeout,
    )


async def list_pods(api_client: Any, deployment: Any, namespace: str, timeout: float) -> list[Any]:
    """Pods selected by the deployment's matchLabels."""
    labels = (deployment.spec.selector.match_labels or {}) if deployment.spec.selector else {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    result = await asyncio.to_thread(
        core_api(api_client).list_namespaced_pod,
        namespace,
        label_selector=selector,
        _request_timeout=timeout,
    )
    return list(result.items or [])


def pod_reasons(pod: Any) -> list[str]:
    """Waiting/terminated reasons of the pod's containers and of the pod itself."""
    reasons: list[str] = []
    status = pod.status
    if status is None:
        return reasons
    if status.reason:
        reasons.append(status.reason)
    for cs in status.container_statuses or []:
        for state in (cs.state, cs.last_state):
            if state is None:
                continue
            for part in (state.waiting, state.terminated):
                if part is not None and part.reason and part.reason not in reasons:
                    reasons.append(part.reason)
    return reasons


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
