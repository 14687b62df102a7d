"""Secrets from files: every secret setting may be given as NAME or as NAME_FILE (a mounted
Kubernetes secret); a set but unreadable file stops the service, naming it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

# Every field typed SecretStr may be given as NAME or as NAME_FILE (a Kubernetes secret mount).
SECRET_FIELDS = (
    "ALERTMANAGER_TOKEN",
    "VIEWER_TOKEN",
    "OPERATOR_TOKEN",
    "OPS_SCRIPT_TOKEN",
    "METRICS_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_CHAT_ID",
    "SLACK_WEBHOOK_URL",
    "PAGERDUTY_ROUTING_KEY",
    "CONSOLE_SESSION_SECRET",
)


class SettingsError(RuntimeError):
    """Raised at start-up when the configuration cannot work; the message names the setting."""


class SecretFileSource(PydanticBaseSettingsSource):
    """Reads `<NAME>_FILE` for secret fields; a set but unreadable file is an error, not a gap."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{field_name}_FILE")
        if field_name not in SECRET_FIELDS or not path:
            return None, field_name, False
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"{field_name}_FILE points to {path!r}, which cannot be read: {exc.strerror}"
            ) from None
        return value, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                found[key] = value
        return found
