"""Secret scrubbing: configured secret values and token-shaped strings, for every outbound text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "[REDACTED]"

# Shapes that are secrets whatever their value; ordered so URLs go before their parts.
# `%3A`/`%3D`/`%20`/`+` are the URL-encoded `:`, `=` and space: a token in a query string.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Telegram puts the bot token in the URL path: /bot<id>:<secret>/method
    re.compile(r"bot\d{6,12}(?::|%3[Aa])[A-Za-z0-9_-]{30,}"),
    re.compile(r"\b\d{6,12}(?::|%3[Aa])[A-Za-z0-9_-]{30,}\b"),
    re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]+"),
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?i)\bbearer(?:\s+|%20|\+)[A-Za-z0-9._~+/=%-]{8,}"),
    re.compile(r"(?i)\bbasic(?:\s+|%20|\+)[A-Za-z0-9+/=%]{8,}"),
    # Any URL's userinfo password: postgresql://user:pass@host, redis://:pass@host, https://…
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)([^\s@/]+)(@)"),
    re.compile(
        r"(?i)(\"?(?:routing_key|integration_key|service_key|api[_-]?key|token|secret|"
        r"authorization)\"?\s*(?:[:=]|%3[AD])\s*\"?)([^\s\"',&}]{6,})"
    ),
    # libpq key=value DSNs and the like: any password, however short.
    re.compile(r"(?i)(\b(?:password|passwd|pwd)\"?\s*(?:[:=]|%3[AD])\s*[\"']?)([^\s\"',&}]+)"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
)

_secret_values: tuple[str, ...] = ()
_encoded_secrets: re.Pattern[str] | None = None


def _lower_escapes(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def variants(value: str) -> set[str]:
    """A secret as it may appear: as is, URL-encoded (any style, either hex case), decoded."""
    encoded = {quote(value, safe=""), quote(value), quote_plus(value), quote_plus(value, safe="/")}
    found = {value, unquote(value), *encoded, *(_lower_escapes(e) for e in encoded)}
    return {v for v in found if v}


def _hex_class(digit: str) -> str:
    return f"[{digit.lower()}{digit.upper()}]" if digit.isalpha() else digit


def _encoded_pattern(value: str) -> str:
    """Regex for `value` with each character as is or %-encoded (either hex case; `+` for a
    space): what mixed encoders produce (one leaves `~` or `!` raw, another encodes `0`)."""
    parts = []
    for char in value:
        hexed = "".join(
            f"%{_hex_class(f'{b:02X}'[0])}{_hex_class(f'{b:02X}'[1])}" for b in char.encode("utf-8")
        )
        plus = r"|\+" if char == " " else ""
        parts.append(f"(?:{re.escape(char)}|{hexed}{plus})")
    return "".join(parts)


def dsn_password(dsn: str) -> str | None:
    """The password of a URL-style DSN (as written, still URL-encoded), if it has one."""
    try:
        password = urlsplit(dsn).password
    except ValueError:
        return None
    return password or None


def configure_secrets(values: Iterable[str]) -> None:
    """Register the configured secret values (from Settings) to scrub wherever they occur."""
    global _secret_values
    # Longest first so a value containing another is removed whole; very short values
    # (a chat id like "42") would wreck ordinary text and are caught by context patterns.
    found = {v for value in values for v in variants(value)}
    global _encoded_secrets
    _secret_values = tuple(sorted({v for v in found if len(v) >= 6}, key=len, reverse=True))
    raw = sorted(
        {v for value in values for v in (value, unquote(value)) if len(v) >= 6},
        key=len,
        reverse=True,
    )
    _encoded_secrets = re.compile("|".join(map(_encoded_pattern, raw))) if raw else None


def _mask_match(match: re.Match[str]) -> str:
    if match.re.groups == 2:
        return f"{match.group(1)}{MASK}"
    if match.re.groups == 3:
        return f"{match.group(1)}{MASK}{match.group(3)}"
    return MASK


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Return `text` with every known secret value and token-shaped string replaced by a mask."""
    extra = sorted({v for e in extra_secrets if e for v in variants(e)}, key=len, reverse=True)
    for value in (*_secret_values, *extra):
        if value in text:
            text = text.replace(value, MASK)
    if _encoded_secrets is not None and ("%" in text or "+" in text):
        text = _encoded_secrets.sub(MASK, text)
    for pattern in _PATTERNS:
        text = pattern.sub(_mask_match, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact strings inside nested dicts/lists (for JSON about to be stored or logged)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


def looks_secret(text: str) -> bool:
    """True when `text` carries a configured secret or a token-shaped string."""
    return redact(text) != text


def error_text(exc: BaseException, limit: int = 500, extra_secrets: Iterable[str] = ()) -> str:
    """`"<ExceptionClass>: <message>"`, redacted and cut to `limit`: how an exception is
    stored (timeline, diagnostics, remediation records) or logged."""
    return redact(f"{type(exc).__name__}: {exc}", extra_secrets)[:limit]
