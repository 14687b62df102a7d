"""A loopback Kubernetes API stub: deployments get/patch, deployments/scale get/patch, pods
list/delete, in the real API's JSON, so the official client drives it unmodified.

PATCH bodies (and their Content-Type) are recorded so tests assert exactly what was sent.
`auto_ready=False` on a deployment keeps its new replicas unready (verification fails);
`hang` on a path prefix makes that request wait until released.
"""

from __future__ import annotations

import asyncio
import json
import threading
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

    def __post_init__(self) -> None:
        if self.ready is None:
            self.ready = self.replicas


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
) -> dict[str, Any]:
    """A V1Pod as the API returns it; `waiting`/`terminated` set container state reasons."""
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
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
        "status": status,
    }


@dataclass
class FakeKubernetes:
    deployments: dict[tuple[str, str], Deployment] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.deployments.clear()
            self.pods.clear()
            self.patches.clear()
            self.deleted.clear()
            self.hang.clear()
            self.requests.clear()

    def add(self, deployment: Deployment) -> Deployment:
        self.deployments[(deployment.namespace, deployment.name)] = deployment
        return deployment

    def deployment_json(self, d: Deployment) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": d.name, "namespace": d.namespace, "generation": d.generation},
            "spec": {
                "replicas": d.replicas,
                "selector": {"matchLabels": {"app": d.name}},
                "template": {
                    "metadata": {"labels": {"app": d.name}, "annotations": dict(d.annotations)},
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

    def scale_json(self, d: Deployment) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": d.name, "namespace": d.namespace},
            "spec": {"replicas": d.replicas},
            "status": {"replicas": d.replicas, "selector": f"app={d.name}"},
        }

    async def _maybe_hang(self, path: str) -> None:
        self.requests.append(path)
        while any(path.startswith(prefix) for prefix in self.hang):
            await asyncio.sleep(0.05)

    async def deployment(self, request: Request) -> JSONResponse:
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
                annotations = body.get("spec", {}).get("template", {}).get("metadata", {})
                d.annotations.update(annotations.get("annotations", {}))
                d.generation += 1
        return JSONResponse(self.deployment_json(d))

    async def scale(self, request: Request) -> JSONResponse:
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
                d.replicas = int(body["spec"]["replicas"])
                d.generation += 1
                if d.auto_ready:
                    d.ready = d.replicas
        return JSONResponse(self.scale_json(d))

    async def pod_list(self, request: Request) -> JSONResponse:
        ns = request.path_params["ns"]
        await self._maybe_hang(request.url.path)
        wanted = dict(
            part.split("=", 1)
            for part in request.query_params.get("labelSelector", "").split(",")
            if part
        )
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
        with self._lock:
            found = [
                p
                for p in self.pods
                if p["metadata"]["name"] == name and p["metadata"]["namespace"] == ns
            ]
            if not found:
                return _not_found("pods", name)
            self.pods.remove(found[0])
            self.deleted.append(name)
        return JSONResponse(found[0])

    def app(self) -> Starlette:
        base = "/apis/apps/v1/namespaces/{ns}/deployments/{name}"
        return Starlette(
            routes=[
                Route(base, self.deployment, methods=["GET", "PATCH"]),
                Route(base + "/scale", self.scale, methods=["GET", "PATCH"]),
                Route("/api/v1/namespaces/{ns}/pods", self.pod_list, methods=["GET"]),
                Route("/api/v1/namespaces/{ns}/pods/{name}", self.pod_delete, methods=["DELETE"]),
            ]
        )
