"""The leak scan itself finds a secret, as is or URL-encoded, and skips the inputs that hand a
secret to the service (it runs over the whole run's artifacts at session end)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TOKENS
from tests.leak_scan import PLANTED, scan


def test_finds_plain_and_encoded_secrets_and_skips_inputs(tmp_path: Path) -> None:
    tmp_path = tmp_path / PLANTED  # the session-end scan of this run skips these on purpose
    token = TOKENS["OPERATOR_TOKEN"]
    bot = "7512345678:AAFakeTok3n_for-push-tests_0123456789xyz"
    (tmp_path / "svc").mkdir(parents=True)
    (tmp_path / "svc" / "service.log").write_text(f'{{"msg": "auth {token}"}}\n')
    (tmp_path / "receipts.jsonl").write_text(f"url=/bot{bot.replace(':', '%3A')}/send\n")
    (tmp_path / "clean.json").write_text('{"token": "[REDACTED]"}')
    (tmp_path / "token").write_text(token)  # a credentials file the test handed over
    hits = {path.name for path, _ in scan(tmp_path)}
    assert hits == {"service.log", "receipts.jsonl"}
