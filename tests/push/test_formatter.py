from __future__ import annotations

import pytest

from app.utils.push_formatter import (
    TELEGRAM_TEXT_LIMIT,
    html_is_well_formed,
    render_message,
    telegram_length,
    visible_text,
)


def test_every_value_is_escaped() -> None:
    rendered = render_message("ALERT", "<script>&", "a<b>c & d")
    assert rendered.html == "<b>[ALERT] &lt;script&gt;&amp;</b>\n\na&lt;b&gt;c &amp; d"
    assert rendered.plain == "[ALERT] <script>&\n\na<b>c & d"
    assert visible_text(rendered.html) == rendered.plain
    assert not rendered.truncated


def test_short_message_is_untouched() -> None:
    rendered = render_message("INFO", "t", "x" * 100)
    assert rendered.omitted_chars == 0
    assert "more characters" not in rendered.html


@pytest.mark.parametrize("unit", ["&", "<>", "🚨", "ab ", "line\n", "é"])
def test_long_content_fits_on_a_safe_boundary(unit: str) -> None:
    content = unit * 9000
    rendered = render_message("ALERT", "Flood", content)
    assert telegram_length(rendered.html) <= TELEGRAM_TEXT_LIMIT
    assert telegram_length(rendered.plain) <= TELEGRAM_TEXT_LIMIT
    assert rendered.truncated
    assert html_is_well_formed(rendered.html)
    assert rendered.html.endswith(f"(+{rendered.omitted_chars} more characters)")
    shown = visible_text(rendered.html).split("\n\n", 1)[1].rsplit("\n\n…", 1)[0]
    assert content.startswith(shown)  # a prefix: no entity or tag was cut in half
    assert len(shown) + rendered.omitted_chars == len(content)


def test_cut_prefers_a_line_break() -> None:
    content = (("word " * 30).strip() + "\n") * 200
    rendered = render_message("INFO", "t", content)
    body = rendered.plain.split("\n\n", 1)[1].rsplit("\n\n…", 1)[0]
    assert body.endswith("word")
    assert content[len(body)] == "\n"


def test_astral_characters_count_twice() -> None:
    assert telegram_length("🚨") == 2
    rendered = render_message("ALERT", "t", "🚨" * 3000)
    assert telegram_length(rendered.html) <= TELEGRAM_TEXT_LIMIT
    assert len(rendered.html) < TELEGRAM_TEXT_LIMIT  # would pass a naive len() check by far


def test_long_title_is_shortened_and_whitespace_folded() -> None:
    rendered = render_message("INFO", "a\n\nb" + "x" * 400, "c")
    title_line = rendered.plain.split("\n\n")[0]
    assert title_line.startswith("[INFO] a b")
    assert title_line.endswith("…")
    assert len(title_line) <= 256 + len("[INFO] ")


def test_well_formed_check_rejects_bad_markup() -> None:
    assert not html_is_well_formed("<b>open")
    assert not html_is_well_formed("<i>x</i>")
    assert not html_is_well_formed('<b class="x">x</b>')
    assert not html_is_well_formed("x" * (TELEGRAM_TEXT_LIMIT + 1))


def test_lone_surrogate_is_replaced_not_a_crash() -> None:
    # Found by tests/properties: JSON's "\ud83d" escape gives a lone surrogate, which
    # telegram_length could not encode (UnicodeEncodeError, a 500 at send time).
    rendered = render_message("ALERT", "t\ud83d", "a\ud83db \ud83d\udea8")
    assert rendered.plain == "[ALERT] t\ufffd\n\na\ufffdb 🚨"
    assert html_is_well_formed(rendered.html)
