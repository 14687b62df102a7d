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
        deadline = time.monotonic() + 30
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
                raise RuntimeError("service did not become healthy in 30 s")
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
