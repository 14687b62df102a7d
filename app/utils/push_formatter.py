"""The one push formatter: every Telegram message body is built here and nowhere else.

Contract C's `formatter_ref` names this file. Telegram's HTML parse mode needs `<`, `>` and `&`
escaped outside tags, and caps a message at 4,096 characters (UTF-16 code units) after entity
parsing. We cap the *raw* HTML instead, which is stricter, so a body we accept is never rejected
for length. Truncation cuts the raw text before escaping, so it can never split a tag or an
entity, and it appends a visible "+N more characters" marker.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

FORMATTER_REF = "app/utils/push_formatter.py"
TELEGRAM_TEXT_LIMIT = 4096
TITLE_LIMIT = 256
# Look this far back from a hard cut for a line break or space to cut on instead.
_SOFT_BOUNDARY_WINDOW = 200
_ALLOWED_TAGS = frozenset({"b"})


@dataclass(frozen=True)
class RenderedMessage:
    """One message as Telegram would receive it, in both parse modes."""

    html: str
    plain: str
    truncated: bool
    omitted_chars: int


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def sendable(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs joined, a lone surrogate (JSON's "\\ud83d"
    escape accepts one) replaced by U+FFFD, which Telegram can display."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def escape_html(value: str) -> str:
    """Escape a value for Telegram's HTML parse mode (only <, > and & are special there)."""
    return html.escape(value, quote=False)


def _marker(omitted: int) -> str:
    return f"\n\n… (+{omitted} more characters)"


def _short_title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def _fit(head: str, content: str, escape: bool, limit: int) -> tuple[str, int]:
    """Longest prefix of `content` that fits after `head` (with a marker when cut), and N cut."""

    def render(cut: int) -> str:
        body = content[:cut]
        body = escape_html(body) if escape else body
        tail = "" if cut == len(content) else _marker(len(content) - cut)
        return head + body + tail

    if telegram_length(render(len(content))) <= limit:
        return render(len(content)), 0
    low, high = 0, len(content)
    while low < high:  # largest cut whose rendering fits; length grows with the cut
        mid = (low + high + 1) // 2
        if telegram_length(render(mid)) <= limit:
            low = mid
        else:
            high = mid - 1
    cut = low
    window = content[max(0, cut - _SOFT_BOUNDARY_WINDOW) : cut]
    for boundary in ("\n", " "):
        at = window.rfind(boundary)
        if at > 0:
            cut = cut - len(window) + at
            break
    # Whitespace right before the marker is noise; dropping it only shortens the body.
    while cut > 0 and content[cut - 1].isspace():
        cut -= 1
    return render(cut), len(content) - cut


def render_message(
    push_type: str, title: str, content: str, *, limit: int = TELEGRAM_TEXT_LIMIT
) -> RenderedMessage:
    """Build the HTML body (every value escaped) and its plain-text fallback."""
    push_type, title, content = sendable(push_type), sendable(title), sendable(content)
    short_title = _short_title(title)
    html_head = f"<b>[{escape_html(push_type)}] {escape_html(short_title)}</b>\n\n"
    plain_head = f"[{push_type}] {short_title}\n\n"
    html_body, omitted = _fit(html_head, content, escape=True, limit=limit)
    plain_body, _ = _fit(plain_head, content, escape=False, limit=limit)
    return RenderedMessage(html_body, plain_body, omitted > 0, omitted)


INCIDENT_SIREN = "\U0001f6a8"  # the contract's message opens with a siren


def render_incident(
    kind: str,
    summary: str,
    *,
    severity: str,
    step: str | None,
    step_label: str | None,
    reason: str | None,
    hint: str | None,
    limit: int = TELEGRAM_TEXT_LIMIT,
) -> RenderedMessage:
    """An INCIDENT_PUSH_V1 message: headline, what happened, step, reason, severity, action.

    `plain` is the contract's `message` field (and the body scripts/daily_ops.sh mirrors in
    its fallback); `html` is the same text with the headline in bold, every value escaped.
    """
    headline = f"{INCIDENT_SIREN} INCIDENT: {sendable(kind)}"
    lines = [sendable(summary)]
    step, step_label, reason, hint = (
        sendable(v) if v is not None else None for v in (step, step_label, reason, hint)
    )
    if step:
        lines.append(f"Step: {step} ({step_label})" if step_label else f"Step: {step}")
    if reason:
        lines.append(f"Reason: {' '.join(reason.split())}")
    lines.append(f"Severity: {severity}")
    content = "\n".join(lines) + (f"\n\nAction: {hint}" if hint else "")
    html_body, omitted = _fit(f"<b>{escape_html(headline)}</b>\n\n", content, True, limit)
    plain_body, _ = _fit(f"{headline}\n\n", content, False, limit)
    return RenderedMessage(html_body, plain_body, omitted > 0, omitted)


class _TagChecker(HTMLParser):
    """Collects text and checks that only allowed tags appear, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ok = True
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ok &= tag in _ALLOWED_TAGS and not attrs
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok &= bool(self.stack) and self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_is_well_formed(body: str) -> bool:
    """True when `body` uses only our tags, attribute-free and balanced, within the length cap."""
    checker = _TagChecker()
    checker.feed(body)
    checker.close()
    return checker.ok and not checker.stack and telegram_length(body) <= TELEGRAM_TEXT_LIMIT


def visible_text(body: str) -> str:
    """The text Telegram would show for an HTML body (tags dropped, entities decoded)."""
    checker = _TagChecker()
    checker.feed(body)
    checker.close()
    return "".join(checker.text)
