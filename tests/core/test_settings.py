from __future__ import annotations

from pathlib import Path

import pytest

from app.core.settings import SettingsError, load_settings


def test_secret_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-a-file-0123456789\n")
    monkeypatch.setenv("ALERTMANAGER_TOKEN_FILE", str(secret))
    settings = load_settings()
    assert settings.ALERTMANAGER_TOKEN is not None
    assert settings.ALERTMANAGER_TOKEN.get_secret_value() == "from-a-file-0123456789"
    assert "from-a-file" not in repr(settings)


def test_unreadable_secret_file_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN_FILE"):
        load_settings()


def test_production_requires_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SettingsError, match="DATABASE_URL is required"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("TELEGRAM_API_BASE", "ftp://x", "TELEGRAM_API_BASE"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("DATABASE_POOL_SIZE", "0", "DATABASE_POOL_SIZE"),
        ("VIEWER_TOKEN", "short", "at least 16"),
        ("PUSH_SEND_LEASE_SECONDS", "60", "PUSH_SEND_LEASE_SECONDS must exceed 110 s"),
    ],
)
def test_bad_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_reused_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="must differ"):
        load_settings(VIEWER_TOKEN="same-token-0123456789", OPERATOR_TOKEN="same-token-0123456789")


def test_secrets_reported_as_presence_only() -> None:
    settings = load_settings(TELEGRAM_BOT_TOKEN="123456789:" + "A" * 35)
    present = settings.secrets_present()
    assert present["TELEGRAM_BOT_TOKEN"] is True
    assert present["SLACK_WEBHOOK_URL"] is False
    assert all(isinstance(v, bool) for v in present.values())


def test_defaults_are_documented_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TELEGRAM_API_BASE", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.DATABASE_URL is None
    assert settings.TELEGRAM_API_BASE == "https://api.telegram.org"
    assert settings.TIMEZONE == "UTC"


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_secret_is_absent_not_present(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", value)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", value)
    monkeypatch.setenv("VIEWER_TOKEN", value)  # an empty token closes its scope, no error
    blank = tmp_path / "blank"
    blank.write_text(value)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY_FILE", str(blank))
    settings = load_settings()
    present = settings.secrets_present()
    assert settings.TELEGRAM_BOT_TOKEN is None
    assert present["TELEGRAM_BOT_TOKEN"] is False
    assert present["SLACK_WEBHOOK_URL"] is False
    assert present["PAGERDUTY_ROUTING_KEY"] is False
    assert settings.VIEWER_TOKEN is None
