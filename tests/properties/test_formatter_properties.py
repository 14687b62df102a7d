"""The push formatter: any text gives valid Telegram HTML of at most 4,096 UTF-16 units, with
only Telegram's tags, balanced, and never a cut entity; the visible text is a prefix of the input."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from app.utils.push_formatter import (
    TELEGRAM_TEXT_LIMIT,
    render_incident,
    render_message,
    sendable,
    telegram_length,
)

# The tags Telegram's HTML parse mode accepts (core.telegram.org/bots/api#html-style).
TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
# Telegram knows only these named entities, and numeric ones.
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")

# Text that stresses the cut: markup characters, entities, astral emoji, lone surrogates too.
PIECES = st.sampled_from(["&", "<", ">", "&amp;", "<b>", "</b>", "🚨", "\n", " ", "é", "\ud83d"])
TEXT = st.lists(PIECES | st.text(max_size=40), max_size=400).map("".join) | st.text(
    st.characters(codec=None), max_size=5000
)
PUSH_TYPES = st.sampled_from(["ALERT", "INFO", "REPORT", "<x>&"])


class _Strict(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name: str) -> None:
        self.problems.append(f"charref {name}")


def _check_html(body: str) -> str:
    """Asserts `body` is what Telegram accepts; returns its visible text."""
    assert telegram_length(body) <= TELEGRAM_TEXT_LIMIT
    # every & opens a whole entity: none was cut in half by the truncation
    assert all(ENTITY.match(body, m.start()) for m in re.finditer("&", body)), body[-80:]
    assert "<" not in re.sub(r"</?b>", "", body)  # the only markup is our bold headline
    parser = _Strict()
    parser.feed(body)
    parser.close()
    assert parser.problems == []
    assert parser.stack == []
    return "".join(parser.text)


def _shown_body(visible: str) -> str:
    body = visible.split("\n\n", 1)[1]
    return body.rsplit("\n\n… (+", 1)[0] if "more characters)" in body[-40:] else body


@given(PUSH_TYPES, TEXT, TEXT)
def test_any_text_renders_to_valid_telegram_html(push_type: str, title: str, content: str) -> None:
    rendered = render_message(push_type, title, content)
    visible = _check_html(rendered.html)
    assert telegram_length(rendered.plain) <= TELEGRAM_TEXT_LIMIT
    shown = _shown_body(visible)
    content = sendable(content)  # a lone surrogate is shown as U+FFFD
    assert "\ufffd" not in content or "\ufffd" in shown or rendered.truncated
    assert content.startswith(shown)  # never a cut character, entity or tag
    if rendered.truncated:
        assert len(shown) + rendered.omitted_chars <= len(content)
        assert rendered.html.endswith(f"(+{rendered.omitted_chars} more characters)")
    else:
        assert shown == content


@given(TEXT, TEXT, st.none() | TEXT, st.none() | TEXT, st.none() | TEXT)
def test_any_incident_renders_to_valid_telegram_html(
    kind: str, summary: str, step: str | None, reason: str | None, hint: str | None
) -> None:
    rendered = render_incident(
        kind[:80], summary, severity="P0", step=step, step_label=None, reason=reason, hint=hint
    )
    _check_html(rendered.html)
    assert telegram_length(rendered.plain) <= TELEGRAM_TEXT_LIMIT
