"""The Kubernetes client, shared by diagnostics and remediation.

The official client is blocking: every call here runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.core.settings import Settings


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
    api_client = client.ApiClient(configuration)
    # The client imports an API's module and its models the first time the API is built: about
    # 280 modules and 600 ms with the GIL held. Paid here, at start-up, and not by the first
    # pipeline, where it stalled every webhook of the worker.
    apps_api(api_client)
    core_api(api_client)
    return api_client


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


def _selector(deployment: Any) -> str:
    labels = (deployment.spec.selector.match_labels or {}) if deployment.spec.selector else {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def controller_uid(obj: Any, kind: str) -> str | None:
    """The uid of the object's controlling owner when that owner is a `kind`, else None."""
    for ref in getattr(obj.metadata, "owner_references", None) or []:
        if ref.controller and ref.kind == kind:
            return str(ref.uid)
    return None


async def list_pods(api_client: Any, deployment: Any, namespace: str, timeout: float) -> list[Any]:
    """Pods the deployment owns: Pod -> ReplicaSet (controller) -> this Deployment, by uid.

    The matchLabels selector only narrows the queries. Labels are not ownership: a canary
    deployment, a StatefulSet or a hand-made pod may carry the same labels, and they are not
    this deployment's to restart, count or delete. Without a uid nothing is owned (fail closed).
    """
    owner_uid = getattr(deployment.metadata, "uid", None)
    if not owner_uid:
        return []
    selector = _selector(deployment)
    sets, pods = await asyncio.gather(
        asyncio.to_thread(
            apps_api(api_client).list_namespaced_replica_set,
            namespace,
            label_selector=selector,
            _request_timeout=timeout,
        ),
        asyncio.to_thread(
            core_api(api_client).list_namespaced_pod,
            namespace,
            label_selector=selector,
            _request_timeout=timeout,
        ),
    )
    owned_sets = {
        rs.metadata.uid
        for rs in sets.items or []
        if controller_uid(rs, "Deployment") == owner_uid and rs.metadata.uid
    }
    return [p for p in pods.items or [] if controller_uid(p, "ReplicaSet") in owned_sets]


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
