"""delete_pods acts only on pods its allowlisted Deployment owns (Pod -> ReplicaSet -> Deployment).

Labels are not ownership: a canary Deployment, a StatefulSet or a hand-made debug pod can carry
the very labels the Deployment selects by. Only the ownerReferences chain, compared by uid,
says whose pod it is.
"""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI

from tests.fakes.k8s import Deployment, pod
from tests.response.conftest import Peers, Sleeps, insert_incident, load, run_pipelines

# Generous Kubernetes timeouts: the first call of a process imports the client's models, and
# this test reads the diagnostics too (a timeout there is data, not the point here).
ENFORCE = {
    "REMEDIATION_MODE": "enforce",
    "DIAGNOSTICS_KUBERNETES_TIMEOUT_SECONDS": 10,
    "DIAGNOSTICS_TOTAL_TIMEOUT_SECONDS": 20,
}


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_same_labelled_pods_of_other_workloads_survive(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("api", replicas=2, ready=1))
    # Not allowlisted (REMEDIATION_TARGETS), and its pods carry app=api too.
    peers.k8s.add(Deployment("api-canary", replicas=1, labels={"app": "api", "track": "canary"}))
    peers.k8s.pods.extend(
        [
            pod("api-ok", "api"),
            pod("api-crash", "api", waiting="CrashLoopBackOff", restarts=7),
            pod("api-canary-crash", "api", owner="api-canary", waiting="CrashLoopBackOff"),
            pod("api-debug-crash", "api", owner=None, waiting="CrashLoopBackOff"),
            pod("api-db-0", "api", owner="api-db", owner_kind="StatefulSet", waiting="Error"),
        ]
    )
    incident_id = await insert_incident(app, "PodCrashLooping", service="api")

    await run_pipelines(app, incident_id)

    assert peers.k8s.deleted == ["api-crash"]
    [options] = peers.k8s.delete_options
    assert options["preconditions"]["uid"]  # the pod inspected, not a same-named successor
    survivors = {p["metadata"]["name"] for p in peers.k8s.pods}
    assert {"api-canary-crash", "api-debug-crash", "api-db-0", "api-ok"} == survivors
    incident = await load(app, incident_id)
    [action] = incident.remediation_actions or []
    assert (action["from"], action["to"], action["success"]) == (1, 0, True)
    # Diagnostics count the Deployment's own pods only.
    pods = (incident.diagnostics or {})["pods"]["api"]
    assert sorted(p["name"] for p in pods["pods"]) == ["api-crash", "api-ok"]


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_only_foreign_pods_crashing_is_a_noop(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    peers.k8s.add(Deployment("api", replicas=1))
    peers.k8s.add(Deployment("api-canary", replicas=1, labels={"app": "api", "track": "canary"}))
    peers.k8s.pods.extend(
        [
            pod("api-ok", "api"),
            pod("api-canary-crash", "api", owner="api-canary", waiting="CrashLoopBackOff"),
        ]
    )
    incident_id = await insert_incident(app, "PodCrashLooping", service="api")

    await run_pipelines(app, incident_id)

    assert peers.k8s.deleted == []


@pytest.mark.parametrize("extra_settings", [ENFORCE])
async def test_a_pod_replaced_under_the_same_name_is_not_deleted(
    app: FastAPI, peers: Peers, sleeps: Sleeps
) -> None:
    """Between inspection and deletion the name came to mean another pod: the uid says so."""
    peers.k8s.add(Deployment("api", replicas=1))
    crashing = pod("api-0", "api", waiting="CrashLoopBackOff")
    peers.k8s.pods.append(crashing)
    delete_path = "/api/v1/namespaces/production/pods/api-0"
    peers.k8s.hang.add(delete_path)  # hold the DELETE until the name means another pod
    incident_id = await insert_incident(app, "PodCrashLooping", service="api")

    run = asyncio.create_task(run_pipelines(app, incident_id))
    for _ in range(600):
        if delete_path in peers.k8s.requests or run.done():
            break
        await asyncio.sleep(0.05)
    assert delete_path in peers.k8s.requests, "the pipeline never tried the delete"
    crashing["metadata"]["uid"] = "a-new-pod-with-the-same-name"
    peers.k8s.hang.clear()
    await run

    assert peers.k8s.deleted == []
    assert [p["metadata"]["name"] for p in peers.k8s.pods] == ["api-0"]
