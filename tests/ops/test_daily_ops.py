"""scripts/daily_ops.sh against the real service, a scripted backend and a dead port, with the
Telegram fake on loopback: each step's push, the fallback, the daily marker, no token anywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.core.settings import load_settings
from app.push.incident_push import render
from app.push.incident_schemas import IncidentKind, IncidentRequest
from tests.conftest import TOKENS, bearer
from tests.fakes.server import free_port, serve_in_thread
from tests.fakes.telegram import FakeTelegram, fresh, served
from tests.service_proc import running_service

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/daily_ops.sh"
BOT_TOKEN = "7512345678:AAFakeDailyOps_t0ken-for-script-tests_0123"
CHAT_ID = "-1009876543210"
API_TOKEN = TOKENS["OPS_SCRIPT_TOKEN"]
NEEDLES = (BOT_TOKEN, BOT_TOKEN.split(":", 1)[1], API_TOKEN)
OP = bearer("OPERATOR")


@pytest.fixture(scope="module")
def tg_server() -> Iterator[tuple[FakeTelegram, str]]:
    with served(BOT_TOKEN) as server:
        yield server


@pytest.fixture
def telegram(tg_server: tuple[FakeTelegram, str]) -> Iterator[FakeTelegram]:
    with fresh(tg_server[0]) as fake:
        yield fake


@dataclass
class Live:
    """The live-cycle endpoint: answers `answer` with `status`."""

    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"decision": "OK"})
    seen_auth: list[str | None] = field(default_factory=list)

    async def handle(self, request: Request) -> JSONResponse:
        self.seen_auth.append(request.headers.get("authorization"))
        return JSONResponse(self.answer, status_code=self.status)


@pytest.fixture(scope="module")
def live_server() -> Iterator[tuple[Live, str]]:
    live = Live()
    app = Starlette(routes=[Route("/live/cycle", live.handle, methods=["GET", "POST"])])
    with serve_in_thread(app) as url:
        yield live, f"{url}/live/cycle"


@pytest.fixture
def live(live_server: tuple[Live, str]) -> Live:
    live_server[0].status, live_server[0].answer = 200, {"decision": "OK"}
    live_server[0].seen_auth.clear()
    return live_server[0]


@dataclass
class Ops:
    """Paths and settings of one script run."""

    data: Path
    secrets: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    def run(self, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["bash", str(SCRIPT)],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.outputs.append(result.stdout + result.stderr)
        return result

    def popen(self, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["bash", str(SCRIPT)],
            env={**self.env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def latest(self) -> dict[str, Any]:
        path = self.data / "reports/ops/push/incident/latest/incident_latest.json"
        document: dict[str, Any] = json.loads(path.read_text())
        return document

    def markers(self) -> list[str]:
        return sorted(p.name for p in (self.data / "state/ops/daily_ops").glob("*.sent"))

    def leaks(self) -> list[str]:
        """Every file written under the data dir (not the secrets we placed), and all output."""
        texts = {
            str(p): p.read_text(errors="replace")
            for p in self.data.rglob("*")
            if p.is_file() and self.secrets not in p.parents
        }
        texts["output"] = "\n".join(self.outputs)
        return [name for name, text in texts.items() for n in NEEDLES if n in text]


def _private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def ops(tmp_path: Path, tg_server: tuple[FakeTelegram, str]) -> Ops:
    data = tmp_path / "data"
    secrets = tmp_path / "secrets"
    token_file = _private(secrets / "ops_script_token", API_TOKEN + "\n")
    tg_env = _private(
        secrets / "telegram.env",
        f"# fallback credentials\nTELEGRAM_BOT_TOKEN={BOT_TOKEN}\nTELEGRAM_CHAT_ID='{CHAT_ID}'\n",
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "OPS_DATA_DIR": str(data),
        "OPS_TOKEN_FILE": str(token_file),
        "TELEGRAM_ENV_FILE": str(tg_env),
        "TELEGRAM_API_BASE": tg_server[1],
        "OPS_BASE_URL": f"http://127.0.0.1:{free_port()}",  # dead unless a test says otherwise
        "OPS_HEALTH_ATTEMPTS": "2",
        "OPS_HEALTH_RETRY_DELAY": "1",
        "OPS_HEALTH_TIMEOUT": "3",
    }
    return Ops(data, secrets, env)


def kinds_sent(telegram: FakeTelegram) -> list[str]:
    return [
        r.body["text"].split("INCIDENT: ")[1].split("\n")[0].split("<")[0] for r in telegram.sent()
    ]


# --- the script itself ------------------------------------------------------------------------


def test_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shellcheck missing under CI=true (scripts/install_peers.sh installs it)")
        pytest.skip("shellcheck not installed (scripts/install_peers.sh installs it as root)")
    result = subprocess.run(
        ["shellcheck", "--severity=style", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_help_documents_settings_and_exit_codes() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for word in (
        "OPS_BASE_URL",
        "OPS_TOKEN_FILE",
        "TELEGRAM_ENV_FILE",
        "LIVE_CYCLE_URL",
        "TELEGRAM_API_BASE",
        "Exit codes",
        *(f"Step{i}" for i in range(1, 7)),
    ):
        assert word in result.stdout
    assert subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True).returncode == 2


def test_preflight_refuses_bad_settings(ops: Ops, telegram: FakeTelegram) -> None:
    assert ops.run(OPS_BASE_URL="ftp://x").returncode == 2
    assert ops.run(OPS_HEALTH_ATTEMPTS="0").returncode == 2
    token_file = Path(ops.env["OPS_TOKEN_FILE"])
    token_file.chmod(0o644)
    result = ops.run()
    assert result.returncode == 2
    assert "readable by others" in result.stderr
    assert telegram.requests == []


# --- backend down: the fallback -----------------------------------------------------------------


def test_backend_down_fallback_marker_and_second_run(ops: Ops, telegram: FakeTelegram) -> None:
    first = ops.run()
    assert first.returncode == 3, first.stdout + first.stderr
    assert "Step2 health: FAILED after 2 attempts (HTTP 000 - " in first.stdout
    assert "fallback: BACKEND_DOWN sent to Telegram (FALLBACK_CURL" in first.stdout
    assert "Step3-Step6: SKIPPED (backend down)" in first.stdout
    assert first.stdout.rstrip().splitlines()[-1].startswith("RESULT: BACKEND_DOWN exit=3")
    [sent] = telegram.sent()
    assert sent.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert sent.body["chat_id"] == CHAT_ID
    assert "parse_mode" not in sent.body  # plain text: nothing to escape, nothing to reject

    latest = ops.latest()
    assert latest["schema"] == "INCIDENT_PUSH_V1"
    assert latest["delivery_actual"] == "FALLBACK_CURL"
    assert latest["kind"] == "BACKEND_DOWN"
    assert latest["severity"] == "CRITICAL"
    assert latest["step"] == "Step2"
    assert latest["idempotency_key"].startswith("incident_BACKEND_DOWN_")
    assert latest["send_receipt"]["provider"] == "TELEGRAM"
    assert latest["send_receipt"]["message_id"] >= 1001
    assert latest["message"] == sent.body["text"]
    assert latest["reason"].startswith("HTTP 000 - Failed to connect to 127.0.0.1")
    # The same text the backend's formatter would build for this incident.
    request = IncidentRequest(kind=IncidentKind.BACKEND_DOWN, reason=latest["reason"], step="Step2")
    assert render(load_settings(), request).plain == latest["message"]
    assert json.loads((ops.data / latest["snapshot_ref"]).read_text()) == latest
    assert latest["evidence_refs"] == ["reports/ops/push/incident/latest/incident_latest.json"]
    day = latest["idempotency_key"].rsplit("_", 1)[1]
    assert ops.markers() == [f"fallback_BACKEND_DOWN_{day}.sent"]

    second = ops.run()
    assert second.returncode == 3
    assert "already sent today" in second.stdout
    assert len(telegram.requests) == 1  # nothing new
    assert ops.leaks() == []


def test_unsafe_telegram_env_is_refused(ops: Ops, telegram: FakeTelegram) -> None:
    Path(ops.env["TELEGRAM_ENV_FILE"]).chmod(0o640)
    result = ops.run()
    assert result.returncode == 4
    assert "WARN fallback unavailable: refused:" in result.stdout  # preflight says so first
    assert "fallback: NOT SENT: refused:" in result.stdout
    assert "readable by others" in result.stdout
    assert telegram.requests == []
    assert ops.markers() == []


def test_fallback_failure_is_recorded_and_retried(ops: Ops, telegram: FakeTelegram) -> None:
    telegram.always = "502"  # a proxy page that echoes the request path, token included
    failed = ops.run()
    assert failed.returncode == 4
    assert "NOT DELIVERED: Telegram answered HTTP 502" in failed.stdout
    assert ops.latest()["send_receipt"] is None
    assert ops.latest()["delivery_actual"] == "FALLBACK_CURL"
    assert ops.markers() == []
    telegram.always = None
    retried = ops.run()
    assert retried.returncode == 3
    assert ops.latest()["send_receipt"] is not None
    assert len(telegram.sent()) == 1
    assert ops.leaks() == []


def _tree(root: int) -> dict[int, tuple[str, str]]:
    """argv and environment of `root` and every descendant (other suites' processes aside)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family = {root}
    grew = True
    while grew:
        kids = {pid for pid, parent in parents.items() if parent in family} - family
        family |= kids
        grew = bool(kids)
    seen = {}
    for pid in family:
        try:
            raw_argv = Path(f"/proc/{pid}/cmdline").read_bytes()
            raw_env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        argv = raw_argv.replace(b"\0", b" ").decode(errors="replace")
        seen[pid] = (argv, raw_env.replace(b"\0", b" ").decode(errors="replace"))
    return seen


def test_token_never_in_the_process_list(ops: Ops, telegram: FakeTelegram) -> None:
    telegram.delay = 1.5  # keep curl in flight long enough to be seen
    proc = ops.popen()
    curls: dict[int, tuple[str, str]] = {}
    leaked: list[str] = []
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        for pid, (argv, environ) in _tree(proc.pid).items():
            if argv.startswith("curl ") and "--config -" in argv:
                curls[pid] = (argv, environ)
            leaked += [argv for n in NEEDLES if n in argv or n in environ]
        time.sleep(0.05)
    out, _ = proc.communicate(timeout=30)
    ops.outputs.append(out)
    assert proc.returncode == 3, out
    sends = [argv for argv, _ in curls.values() if "text=" in argv]
    assert sends, "curl's Telegram call was never caught in the process list"
    assert leaked == []
    assert ops.leaks() == []


# --- backend up: the real service ---------------------------------------------------------------


@pytest.fixture
def service(
    database_url: str, clean_db: None, ops: Ops, tg_server: tuple[FakeTelegram, str]
) -> Iterator[str]:
    env = {
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_CHAT_ID": CHAT_ID,
        "TELEGRAM_API_BASE": tg_server[1],
        "HTTP_MAX_ATTEMPTS": "1",
    }
    with running_service(database_url, ops.data, env=env) as base:
        ops.env["OPS_BASE_URL"] = base
        yield base


def test_backend_up_each_step_and_a_quiet_second_run(
    service: str, ops: Ops, telegram: FakeTelegram, live: Live, live_server: tuple[Live, str]
) -> None:
    clean = ops.run()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    lines = clean.stdout.splitlines()
    assert lines[1].startswith("Step1 preflight: OK")
    assert lines[2].startswith("Step2 health: OK (HTTP 200, attempt 1/2)")
    assert "Step3 ops summary: OK" in clean.stdout
    assert "Step4 live cycle: SKIPPED (LIVE_CYCLE_URL is not set)" in clean.stdout
    assert "Step5 outbox run: OK (messages=0" in clean.stdout
    assert "Step6 evidence index: OK" in clean.stdout
    assert "ops_summary_latest" in clean.stdout
    assert lines[-1].startswith("RESULT: OK exit=0")
    assert telegram.requests == []

    # An open P0 blocks the summary; the live cycle answers BLOCKED.
    created = httpx.post(
        f"{service}/incidents", json={"alert_name": "DbDown", "priority": "P0"}, headers=OP
    )
    assert created.status_code == 201
    live.answer = {"decision": "BLOCKED", "blocked_reason": "NOT_REAL_GATE"}
    blocked = ops.run(LIVE_CYCLE_URL=live_server[1])
    out = blocked.stdout
    assert blocked.returncode == 1, out + blocked.stderr
    assert "Step3 ops summary: BLOCKED (OPEN_P0_INCIDENTS: 1 P0 incident(s)" in out
    assert "-> OPS_BLOCKED push: sent (TELEGRAM, DELIVERED)" in out
    assert "Step4 live cycle: decision BLOCKED (NOT_REAL_GATE)" in out
    assert "-> LIVE_BLOCKED push: sent (TELEGRAM, DELIVERED)" in out
    assert out.splitlines()[-1].startswith("RESULT: ATTENTION exit=1")
    assert sorted(kinds_sent(telegram)) == ["LIVE_BLOCKED", "OPS_BLOCKED"]
    assert live.seen_auth == [None]  # the bearer token never goes to another host
    history = httpx.get(f"{service}/api/push/incident", headers=OP).json()
    assert [i["document"]["kind"] for i in history["items"]] == ["LIVE_BLOCKED", "OPS_BLOCKED"]
    assert ops.latest()["kind"] == "LIVE_BLOCKED"

    again = ops.run(LIVE_CYCLE_URL=live_server[1])
    assert again.returncode == 1
    assert again.stdout.count("skipped, already sent today (ALREADY_DELIVERED)") == 2
    assert len(telegram.requests) == 2  # nothing new
    assert ops.markers() == []  # the backend was up: no fallback

    # The live cycle breaks: LIVE_FAILED, once.
    live.status, live.answer = 500, {"detail": "cycle crashed"}
    failed = ops.run(LIVE_CYCLE_URL=live_server[1])
    assert "Step4 live cycle: FAILED (HTTP 500 - cycle crashed)" in failed.stdout
    assert "-> LIVE_FAILED push: sent (TELEGRAM, DELIVERED)" in failed.stdout
    assert kinds_sent(telegram)[-1] == "LIVE_FAILED"
    assert ops.leaks() == []


# --- backend up but failing: a scripted backend ---------------------------------------------------


@dataclass
class ScriptedBackend:
    """/health is fine; the summary fails; the incident route answers `send_status`."""

    send_status: int = 200
    database: str = "connected"
    sends: list[dict[str, str]] = field(default_factory=list)

    async def health(self, request: Request) -> JSONResponse:
        if self.database != "connected":
            return JSONResponse({"status": "unhealthy", "database": self.database}, 503)
        return JSONResponse({"status": "healthy", "database": "connected"})

    async def summary(self, request: Request) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503)

    async def send(self, request: Request) -> JSONResponse:
        self.sends.append(dict(request.query_params))
        if self.send_status != 200:
            return JSONResponse({"detail": "boom"}, status_code=self.send_status)
        kind = request.query_params["kind"]
        return JSONResponse(
            {
                "result": "OK",
                "skipped": False,
                "kind": kind,
                "idempotency_key": f"incident_{kind}_20260125",
                "delivery_actual": "TELEGRAM",
                "delivery_reason": "DELIVERED",
            }
        )

    async def outbox(self, request: Request) -> JSONResponse:
        summary = {"total_messages": 0, "console_bound": 0, "external_candidate": 0}
        return JSONResponse({"summary": summary})

    async def evidence(self, request: Request) -> JSONResponse:
        return JSONResponse({"entries": []})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/health", self.health),
                Route("/api/ops/summary", self.summary),
                Route("/api/push/incident/send", self.send, methods=["POST"]),
                Route("/api/push/outbox/run", self.outbox, methods=["POST"]),
                Route("/api/push/evidence/latest", self.evidence),
            ]
        )


def test_summary_error_is_ops_failed_and_a_refused_push_falls_back(
    ops: Ops, telegram: FakeTelegram
) -> None:
    backend = ScriptedBackend()
    with serve_in_thread(backend.app()) as base:
        ops.env["OPS_BASE_URL"] = base
        result = ops.run()
        assert result.returncode == 1
        assert "Step3 ops summary: FAILED (HTTP 503 - database unavailable, retry later)" in (
            result.stdout
        )
        assert "-> OPS_FAILED push: sent (TELEGRAM, DELIVERED)" in result.stdout
        [sent] = backend.sends
        assert sent["kind"] == "OPS_FAILED"
        assert sent["step"] == "Step3"
        assert sent["confirm"] == "true"
        assert sent["reason"] == "HTTP 503 - database unavailable, retry later"
        assert telegram.requests == []

        # The backend cannot take the push: the script tells Telegram itself (fail-closed).
        backend.send_status = 500
        result = ops.run()
        assert "-> OPS_FAILED push: the backend refused it (HTTP 500 - boom)" in result.stdout
        assert "fallback: OPS_FAILED sent to Telegram (FALLBACK_CURL" in result.stdout
        assert kinds_sent(telegram) == ["OPS_FAILED"]
        assert ops.latest()["kind"] == "OPS_FAILED"
        assert ops.latest()["step"] == "Step3"
        result = ops.run()
        assert "fallback: OPS_FAILED already sent today" in result.stdout
        assert len(telegram.requests) == 1
    assert ops.leaks() == []


def test_health_503_is_backend_down(ops: Ops, telegram: FakeTelegram) -> None:
    backend = ScriptedBackend(database="disconnected")
    with serve_in_thread(backend.app()) as base:
        result = ops.run(OPS_BASE_URL=base)
    assert result.returncode == 3, result.stdout
    reason = "HTTP 503 - status unhealthy, database disconnected"
    assert f"Step2 health: FAILED after 2 attempts ({reason})" in result.stdout
    assert ops.latest()["reason"] == reason
    assert kinds_sent(telegram) == ["BACKEND_DOWN"]
    assert backend.sends == []


def test_test_mode_fallback_sends_nothing(ops: Ops, telegram: FakeTelegram) -> None:
    result = ops.run(OPS_INCIDENT_MODE="test")
    assert result.returncode == 4, result.stdout
    assert "    | \U0001f6a8 INCIDENT: BACKEND_DOWN" in result.stdout
    assert ops.latest()["delivery_actual"] == "CONSOLE_SIMULATED"
    assert ops.latest()["send_receipt"] is None
    assert telegram.requests == []
    assert ops.markers() == []
    assert ops.run().returncode == 3  # the drill used nothing up: the real run sends
    assert len(telegram.sent()) == 1
