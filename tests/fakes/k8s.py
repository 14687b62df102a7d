"""A loopback Kubernetes API stub: deployments get/patch, deployments/scale get/patch,
replicasets list, pods list/delete, in the real API's JSON, so the official client drives it
unmodified.

Ownership is as in a cluster: each deployment has a uid and owns one ReplicaSet (its controller
ownerReference carries the deployment's uid), and `pod(...)` is owned by the ReplicaSet of the
deployment named by `owner` (default: its `app` label); `owner=None` makes a bare pod.

PATCH bodies (and their Content-Type) are recorded so tests assert exactly what was sent.
`auto_ready=False` on a deployment keeps its new replicas unready (verification fails);
`hang` on a path prefix makes that request wait until released.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Deployment:
    name: str
    namespace: str = "production"
    replicas: int = 1
    ready: int | None = None
    generation: int = 1
    annotations: dict[str, str] = field(default_factory=dict)
    auto_ready: bool = True
    # matchLabels, also the pod template's labels; default {"app": name}.
    labels: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.ready is None:
            self.ready = self.replicas
        if self.labels is None:
            self.labels = {"app": self.name}

    @property
    def uid(self) -> str:
        return _uid("deployment", self.namespace, self.name)

    @property
    def replica_set(self) -> str:
        return f"{self.name}-{_template_hash(self.namespace, self.name)}"


def _uid(kind: str, namespace: str, name: str) -> str:
    """A stable uid per object, as the API server would assign one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8s:{kind}:{namespace}/{name}"))


def _template_hash(namespace: str, name: str) -> str:
    return hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:10]


def _owner(kind: str, name: str, uid: str, api_version: str = "apps/v1") -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


@dataclass
class Patch:
    path: str
    content_type: str
    body: Any


def _not_found(kind: str, name: str) -> JSONResponse:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{kind} "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "kind": kind},
        "code": 404,
    }
    return JSONResponse(body, status_code=404)


def _conflict(name: str, wanted: str, actual: str | None) -> JSONResponse:
    """What the API answers when a delete's uid precondition does not hold."""
    message = (
        f'Operation cannot be fulfilled on Pod "{name}": Precondition failed: '
        f"UID in precondition: {wanted}, UID in object meta: {actual}"
    )
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Conflict",
        "details": {"name": name, "kind": "Pod"},
        "code": 409,
    }
    return JSONResponse(body, status_code=409)


def pod(
    name: str,
    app: str,
    *,
    phase: str = "Running",
    waiting: str | None = None,
    terminated: str | None = None,
    reason: str | None = None,
    restarts: int = 0,
    namespace: str = "production",
    owner: str | None = "",
    owner_kind: str = "ReplicaSet",
) -> dict[str, Any]:
    """A V1Pod as the API returns it; `waiting`/`terminated` set container state reasons.

    Owned by the ReplicaSet of deployment `owner` (default: `app`); `owner=None` is a bare pod;
    another `owner_kind` (e.g. "StatefulSet") makes it another controller's pod.
    """
    state: dict[str, Any] = {"running": {"startedAt": "2026-01-25T09:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": "back-off restarting"}}
    last: dict[str, Any] = {}
    if terminated:
        last = {"terminated": {"reason": terminated, "exitCode": 137}}
    status: dict[str, Any] = {
        "phase": phase,
        "containerStatuses": [
            {
                "name": "app",
                "image": "example/app:1",
                "imageID": "sha256:abc",
                "ready": phase == "Running" and not waiting,
                "restartCount": restarts,
                "state": state,
                "lastState": last,
            }
        ],
    }
    if reason:
        status["reason"] = reason
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": _uid("pod", namespace, name),
        "labels": {"app": app},
    }
    deployment = app if owner == "" else owner
    if deployment is not None and owner_kind == "ReplicaSet":
        rs = f"{deployment}-{_template_hash(namespace, deployment)}"
        metadata["ownerReferences"] = [_owner("ReplicaSet", rs, _uid("replicaset", namespace, rs))]
    elif deployment is not None:
        uid = _uid(owner_kind.lower(), namespace, deployment)
        metadata["ownerReferences"] = [_owner(owner_kind, deployment, uid)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
        "status": status,
    }


def _annotate(d: Deployment, body: dict[str, Any]) -> None:
    """A deployment PATCH (a rollout restart): the pod template's annotations."""
    template = body.get("spec", {}).get("template", {}).get("metadata", {})
    d.annotations.update(template.get("annotations", {}))


def _scale(d: Deployment, body: dict[str, Any]) -> None:
    """A scale PATCH: the replicas (ready at once unless `auto_ready` is off)."""
    d.replicas = int(body["spec"]["replicas"])
    if d.auto_ready:
        d.ready = d.replicas


@dataclass
class FakeKubernetes:
    deployments: dict[tuple[str, str], Deployment] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    delete_options: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.deployments.clear()
            self.pods.clear()
            self.patches.clear()
            self.deleted.clear()
            self.hang.clear()
            self.requests.clear()
            self.delete_options.clear()

    def add(self, deployment: Deployment) -> Deployment:
        self.deployments[(deployment.namespace, deployment.name)] = deployment
        return deployment

    def deployment_json(self, d: Deployment) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": d.name,
                "namespace": d.namespace,
                "uid": d.uid,
                "generation": d.generation,
            },
            "spec": {
                "replicas": d.replicas,
                "selector": {"matchLabels": dict(d.labels or {})},
                "template": {
                    "metadata": {
                        "labels": dict(d.labels or {}),
                        "annotations": dict(d.annotations),
                    },
                    "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
                },
            },
            "status": {
                "observedGeneration": d.generation if d.auto_ready else d.generation - 1,
                "replicas": d.replicas,
                "readyReplicas": d.ready,
                "updatedReplicas": d.replicas if d.auto_ready else 0,
                "availableReplicas": d.ready,
            },
        }

    def replica_set_json(self, d: Deployment) -> dict[str, Any]:
        """The deployment's current ReplicaSet, owned by it (controller ref with its uid)."""
        labels = {**(d.labels or {}), "pod-template-hash": _template_hash(d.namespace, d.name)}
        return {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": d.replica_set,
                "namespace": d.namespace,
                "uid": _uid("replicaset", d.namespace, d.replica_set),
                "labels": labels,
                "ownerReferences": [_owner("Deployment", d.name, d.uid)],
            },
            "spec": {
                "replicas": d.replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
                },
            },
            "status": {"replicas": d.replicas, "readyReplicas": d.ready},
        }

    def scale_json(self, d: Deployment) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": d.name, "namespace": d.namespace},
            "spec": {"replicas": d.replicas},
            "status": {
                "replicas": d.replicas,
                "selector": ",".join(f"{k}={v}" for k, v in sorted((d.labels or {}).items())),
            },
        }

    async def _maybe_hang(self, path: str) -> None:
        self.requests.append(path)
        while any(path.startswith(prefix) for prefix in self.hang):
            await asyncio.sleep(0.05)

    async def _patchable(
        self,
        request: Request,
        change: Callable[[Deployment, dict[str, Any]], None],
        answer: Callable[[Deployment], dict[str, Any]],
    ) -> JSONResponse:
        """GET or PATCH one deployment resource: a PATCH is recorded, `change`d in, and bumps
        the deployment's generation; either way the answer is `answer(deployment)`."""
        ns, name = request.path_params["ns"], request.path_params["name"]
        await self._maybe_hang(request.url.path)
        d = self.deployments.get((ns, name))
        if d is None:
            return _not_found("deployments.apps", name)
        if request.method == "PATCH":
            body = json.loads(await request.body())
            with self._lock:
                self.patches.append(
                    Patch(request.url.path, request.headers.get("content-type", ""), body)
                )
                change(d, body)
                d.generation += 1
        return JSONResponse(answer(d))

    async def deployment(self, request: Request) -> JSONResponse:
        return await self._patchable(request, _annotate, self.deployment_json)

    async def scale(self, request: Request) -> JSONResponse:
        return await self._patchable(request, _scale, self.scale_json)

    @staticmethod
    def _selector(request: Request) -> dict[str, str]:
        return dict(
            part.split("=", 1)
            for part in request.query_params.get("labelSelector", "").split(",")
            if part
        )

    async def replica_set_list(self, request: Request) -> JSONResponse:
        ns = request.path_params["ns"]
        await self._maybe_hang(request.url.path)
        wanted = self._selector(request)
        sets = [self.replica_set_json(d) for d in list(self.deployments.values())]
        items = [
            rs
            for rs in sets
            if rs["metadata"]["namespace"] == ns
            and all(rs["metadata"]["labels"].get(k) == v for k, v in wanted.items())
        ]
        body = {"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {}, "items": items}
        return JSONResponse(body)

    async def pod_list(self, request: Request) -> JSONResponse:
        ns = request.path_params["ns"]
        await self._maybe_hang(request.url.path)
        wanted = self._selector(request)
        items = [
            p
            for p in self.pods
            if p["metadata"]["namespace"] == ns
            and all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())
        ]
        return JSONResponse({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})

    async def pod_delete(self, request: Request) -> JSONResponse:
        ns, name = request.path_params["ns"], request.path_params["name"]
        await self._maybe_hang(request.url.path)
        raw = await request.body()
        options = json.loads(raw) if raw else {}
        self.delete_options.append(options)
        wanted_uid = (options.get("preconditions") or {}).get("uid")
        with self._lock:
            found = [
                p
                for p in self.pods
                if p["metadata"]["name"] == name and p["metadata"]["namespace"] == ns
            ]
            if not found:
                return _not_found("pods", name)
            if wanted_uid and found[0]["metadata"].get("uid") != wanted_uid:
                return _conflict(name, wanted_uid, found[0]["metadata"].get("uid"))
            self.pods.remove(found[0])
            self.deleted.append(name)
        return JSONResponse(found[0])

    def app(self) -> Starlette:
        base = "/apis/apps/v1/namespaces/{ns}/deployments/{name}"
        return Starlette(
            routes=[
                Route(base, self.deployment, methods=["GET", "PATCH"]),
                Route(base + "/scale", self.scale, methods=["GET", "PATCH"]),
                Route(
                    "/apis/apps/v1/namespaces/{ns}/replicasets",
                    self.replica_set_list,
                    methods=["GET"],
                ),
                Route("/api/v1/namespaces/{ns}/pods", self.pod_list, methods=["GET"]),
                Route("/api/v1/namespaces/{ns}/pods/{name}", self.pod_delete, methods=["DELETE"]),
            ]
        )
