"""The redactor: a configured secret embedded anywhere in any text is removed, however it was
URL-encoded (every style, either hex case, some characters encoded and others not)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.core.redact import MASK, configure_secrets, redact, redact_value

# Secrets: token-ish text with the characters URL encoders disagree on. No '[' or ']', so the
# mask itself can never spell part of a secret.
SECRET_CHARS = st.characters(
    codec="utf-8", exclude_characters="[]\x00", categories=["L", "N", "P", "S", "Zs"]
)
SECRETS = st.text(SECRET_CHARS, min_size=6, max_size=40).filter(lambda s: s.strip() == s)
AROUND = st.text(st.characters(codec="utf-8", exclude_characters="[]%+"), max_size=30)


def _encode_char(char: str, style: int) -> str:
    if style == 0:
        return char
    if style == 1:
        return "+" if char == " " else quote(char, safe="")
    hexed = "".join(f"%{b:02X}" for b in char.encode())
    return hexed.lower() if style == 2 else hexed


@st.composite
def encodings(draw: st.DrawFn, secret: str) -> str:
    """The secret as some client may have put it in a URL or a form body."""
    whole = [
        secret,
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        quote_plus(secret, safe="/"),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
    ]
    choice = draw(st.integers(0, len(whole)))
    if choice < len(whole):
        return whole[choice]
    # a mixed encoder: each character as is, %-encoded or %-encoded in lower case
    styles = draw(st.lists(st.integers(0, 3), min_size=len(secret), max_size=len(secret)))
    return "".join(_encode_char(c, s) for c, s in zip(secret, styles, strict=True))


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    configure_secrets(())


@given(st.data(), SECRETS, AROUND, AROUND)
def test_configured_secret_is_removed_however_encoded(
    data: st.DataObject, secret: str, before: str, after: str
) -> None:
    assume(unquote(secret) == secret or len(unquote(secret)) >= 6)
    encoded = data.draw(encodings(secret))
    configure_secrets([secret])
    cleaned = redact(f"{before}{encoded}{after}")
    assert encoded not in cleaned
    assert secret not in cleaned
    for decode in (unquote, unquote_plus):
        assert secret not in decode(cleaned), (secret, encoded, cleaned)
    assert MASK in cleaned
    # the text around it is kept
    assert cleaned.startswith(before[: max(0, len(before) - len(secret))])


@given(SECRETS, st.lists(AROUND, min_size=1, max_size=4))
def test_configured_secret_is_removed_from_nested_values(secret: str, words: list[str]) -> None:
    configure_secrets([secret])
    value = {"a": [f"{w}{secret}" for w in words], "b": {"c": secret}}
    cleaned = redact_value(value)
    assert secret not in repr(cleaned)


@given(st.text(max_size=200))
def test_redact_never_fails_and_is_idempotent(text: str) -> None:
    configure_secrets(["s3cr3t-value-0123", "https://hooks.slack.com/services/T0/B0/XXXXXXXX"])
    once = redact(text)
    assert redact(once) == once
