"""What scripts/bench_pipeline_storm.py sends and talks to: the storm's webhooks, and fast,
answering peers served by a child process (so they never compete with the benchmark's client
for its GIL): tests/fakes' PagerDuty, Slack, Kubernetes (a 3-replica deployment with 3 running
pods per service) and Telegram, plus a minimal Prometheus query API (tests/fakes has none).
Import after putting the repository root and scripts/ on sys.path.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.connection import Connection
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes import slack as slack_fake
from tests.fakes.k8s import Deployment, FakeKubernetes, pod
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.server import serve_in_thread
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

ROUTING_KEY = "R0UTINGKEYfake0123456789abcdef"
BOT_TOKEN = "123456:storm-fake-bot-token"
ALERTNAMES = [
    "HighErrorRate",
    "HighLatency",
    "PodCrashLooping",
    "HighCPUUsage",
    "HighMemoryUsage",
    "ContainerOOMKilled",
    "KubeDeploymentReplicasMismatch",
    "CertificateExpiringSoon",
]
SERVICES = [f"svc-{n:02d}" for n in range(20)]


def _prometheus() -> tuple[Starlette, list[int]]:
    """`/api/v1/query` answering one sample to any query; and how many it answered."""
    seen = [0]

    async def query(request: Request) -> JSONResponse:
        seen[0] += 1
        sample = {"metric": {}, "value": [time.time(), "0.5"]}
        return JSONResponse(
            {"status": "success", "data": {"resultType": "vector", "result": [sample]}}
        )

    return Starlette(routes=[Route("/api/v1/query", query, methods=["GET", "POST"])]), seen


def _serve(conn: Connection, services: list[str]) -> None:
    """The child: serve the fakes, send their URLs, then their counts when asked."""
    k8s, pd, sl = FakeKubernetes(), FakePagerDuty(), FakeSlack()
    tg = FakeTelegram(token=BOT_TOKEN)
    for service in services:
        k8s.add(Deployment(service, replicas=3))
        k8s.pods.extend(pod(f"{service}-{i}", service) for i in range(3))
    prom, prom_seen = _prometheus()
    with ExitStack() as stack:
        apps = {"k8s": k8s.app(), "pd": pd.app(), "slack": sl.app(), "tg": tg.app, "prom": prom}
        conn.send({name: stack.enter_context(serve_in_thread(app)) for name, app in apps.items()})
        conn.recv()  # the storm is over
        conn.send(
            {
                "pagerduty_requests": len(pd.requests),
                "pagerduty_by_action": dict(Counter(r.get("event_action") for r in pd.requests)),
                "pagerduty_incidents_opened": len(pd.incidents),
                "slack_messages": len(sl.requests),
                "kubernetes_requests": len(k8s.requests),
                "prometheus_queries": prom_seen[0],
                "telegram_requests": len(tg.requests),
            }
        )
        conn.recv()


@contextmanager
def fake_peers(services: list[str]) -> Iterator[tuple[dict[str, str], Callable[[], Any]]]:
    """Yield (the service's settings pointing at the fakes, a function returning what each
    fake received so far); the child process is ended on exit."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, services), daemon=True)
    proc.start()

    def counts() -> Any:
        parent.send("counts")
        received = parent.recv()
        parent.send("done")
        return received

    try:
        if not parent.poll(60):
            raise RuntimeError("the fake peers did not start within 60 s")
        urls = parent.recv()
        settings = {
            "KUBERNETES_API_URL": urls["k8s"],
            "PAGERDUTY_EVENTS_URL": f"{urls['pd']}/v2/enqueue",
            "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "SLACK_WEBHOOK_URL": urls["slack"] + slack_fake.PATH,
            "TELEGRAM_API_BASE": urls["tg"],
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_CHAT_ID": "-100123",
            "PROMETHEUS_URL": urls["prom"],
        }
        yield settings, counts
    finally:
        proc.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()


def storm(n: int, max_group: int, run: str, seed: int) -> list[bytes]:
    """Webhooks as Alertmanager sends them: one per group, each a few alerts of one
    (alertname, cluster, service), random sizes 1..max_group, groups interleaved."""
    rng = random.Random(seed)
    bodies, sent, g = [], 0, 0
    while sent < n:
        size = min(rng.randint(1, max_group), n - sent)
        combo = g % (len(ALERTNAMES) * len(SERVICES))
        name, service = ALERTNAMES[combo % len(ALERTNAMES)], SERVICES[combo // len(ALERTNAMES)]
        group = {"alertname": name, "cluster": f"c{g // 160}", "service": service}
        alerts = []
        for i in range(size):
            labels = {
                **group,
                "severity": "critical",
                "namespace": "production",
                "pod": f"{service}-{i % 3}",
                "instance": f"10.0.{g % 250}.{i}:8080",
                "run": run,
            }
            alerts.append(
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": f"{name} on {service}", "description": "storm"},
                    "startsAt": "2026-11-26T00:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus/graph",
                    "fingerprint": f"{run}-{sent + i:06d}",
                }
            )
        key = ", ".join(f'{k}="{v}"' for k, v in sorted(group.items()))
        payload = {
            "version": "4",
            "groupKey": f'{{}}/{{severity="critical"}}:{{{key}}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "pagerduty-critical",
            "groupLabels": group,
            "commonLabels": {**group, "severity": "critical", "namespace": "production"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
        bodies.append(json.dumps(payload).encode())
        sent, g = sent + size, g + 1
    return bodies
