from __future__ import annotations

import pytest

from app.core.redact import MASK, configure_secrets, looks_secret, redact, redact_value

BOT_TOKEN = "123456789:AAHf0ke-T0ken_for_tests_only_abcdefghi"


@pytest.fixture(autouse=True)
def _reset() -> None:
    configure_secrets(())


@pytest.mark.parametrize(
    "text",
    [
        f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage failed",
        f"token {BOT_TOKEN} leaked",
        "hook https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX down",
        "Authorization: Bearer abcdefghijklmnop",
        '{"routing_key": "R0UT1NGKEY0123456789abcdef012345"}',
        "xoxb-1234567890-abcdefghij",
        "https://user:hunter2pass@db.example/x",
    ],
)
def test_token_shapes_are_masked(text: str) -> None:
    cleaned = redact(text)
    assert MASK in cleaned
    for secret in (BOT_TOKEN, "B0000/XXXX", "abcdefghijklmnop", "R0UT1NGKEY", "xoxb-", "hunter2"):
        assert secret not in cleaned


def test_configured_values_are_masked_anywhere() -> None:
    configure_secrets(["plain-secret-value", "42"])
    assert redact("err: plain-secret-value!") == f"err: {MASK}!"
    assert redact("chat 42 of 420") == "chat 42 of 420"  # too short to scrub blindly


def test_nested_values_and_detection() -> None:
    cleaned = redact_value({"a": [f"x {BOT_TOKEN}"], "n": 3})
    assert cleaned == {"a": [f"x {MASK}"], "n": 3}
    assert looks_secret(f"see {BOT_TOKEN}")
    assert not looks_secret("disk 91% full on node-3")
