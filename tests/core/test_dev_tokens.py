"""A first run without configured tokens: development tokens in state/dev-tokens.env (0600)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.dev_tokens import TOKEN_NAMES, ensure_dev_tokens
from app.core.settings import load_settings
from tests.fakes.server import free_port


@pytest.fixture(autouse=True)
def _no_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in TOKEN_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    yield
    for name in TOKEN_NAMES:  # ensure_dev_tokens exported them
        os.environ.pop(name, None)


def _read(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_generated_once_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = ensure_dev_tokens(load_settings(DATA_DIR=tmp_path))
    assert path == tmp_path / "state" / "dev-tokens.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = _read(path)
    assert set(tokens) == set(TOKEN_NAMES)
    assert len(set(tokens.values())) == 4
    assert all(len(v) >= 32 for v in tokens.values())
    assert {n: os.environ[n] for n in TOKEN_NAMES} == tokens
    # The settings the workers will read accept them, each with its own scope.
    assert load_settings().VIEWER_TOKEN is not None
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert str(path) in logged
    assert not any(value in logged for value in tokens.values())

    for name in TOKEN_NAMES:
        del os.environ[name]
    path.chmod(0o644)
    assert ensure_dev_tokens(load_settings(DATA_DIR=tmp_path)) == path
    assert _read(path) == tokens  # reused, not regenerated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_not_in_production_nor_when_a_token_is_configured(tmp_path: Path) -> None:
    production = load_settings(
        DATA_DIR=tmp_path,
        ENVIRONMENT="production",
        DATABASE_URL="postgresql://x@localhost/x",
        ALERTMANAGER_TOKEN="am-token-0123456789abcdef",
    )
    assert ensure_dev_tokens(production) is None
    configured = load_settings(DATA_DIR=tmp_path, VIEWER_TOKEN="viewer-token-0123456789")
    assert ensure_dev_tokens(configured) is None
    assert not (tmp_path / "state" / "dev-tokens.env").exists()


def test_first_run_serves_with_the_generated_tokens(database_url: str, tmp_path: Path) -> None:
    """`ops-backend serve` with no token configured: 401 without, 200 with the file's token."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_TOKEN_FILE"))}
    env |= {"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PIPELINE_ENABLED": "false"}
    port = free_port()
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "service did not become healthy"
            time.sleep(0.1)
        tokens = _read(tmp_path / "state" / "dev-tokens.env")
        assert httpx.get(f"{base}/incidents", timeout=5).status_code == 401
        headers = {"Authorization": f"Bearer {tokens['VIEWER_TOKEN']}"}
        assert httpx.get(f"{base}/incidents", headers=headers, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    text = log.read_text()
    assert str(tmp_path / "state" / "dev-tokens.env") in text
    assert not any(value in text for value in tokens.values())
