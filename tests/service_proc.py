"""Run the real service (`ops-backend serve`) in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import TOKENS
from tests.fakes.server import free_port


@contextmanager
def running_service(
    database_url: str, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the base URL of a live service on loopback; stop it afterwards."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")},
        **TOKENS,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "DATABASE_TIMEOUT_SECONDS": "2",
        "PIPELINE_ENABLED": "false",
        **(env or {}),
    }
    log = (data_dir / "service.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--no-migrate",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # 2 workers starting on a busy 2-core machine
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"service exited: {(data_dir / 'service.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("service did not become healthy in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def service_pids(base: str) -> tuple[int, list[int]]:
    """The supervisor pid of the service at `base` (started with `--port <port>`), and its
    live workers (spawned children; not the resource tracker, not a zombie)."""
    port = base.rsplit(":", 1)[1].encode()
    supervisor = None
    workers: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if b"serve" in argv and port in argv:
            supervisor = int(entry.name)
        elif state != "Z" and any(b"spawn_main" in arg for arg in argv):
            workers[int(entry.name)] = int(ppid)
    assert supervisor is not None, "service process not found"
    return supervisor, sorted(pid for pid, ppid in workers.items() if ppid == supervisor)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
