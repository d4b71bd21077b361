"""The one rule for control characters (C0, DEL, C1 and the Unicode line and paragraph separators),
and the characters PostgreSQL cannot store (NUL, lone surrogates)."""

import unicodedata

import pytest

from tasks.control_characters import (
    CONTROL_CHARACTERS,
    escaped_control_characters,
    has_control_characters,
    storable_text,
)
from tasks.exceptions import PermanentError, StageRejected, TransientError


def test_the_rule_is_exactly_unicodes_control_and_separator_line_and_paragraph_categories():
    by_category = {chr(code) for code in range(0x110000) if unicodedata.category(chr(code)) in ("Cc", "Zl", "Zp")}
    by_rule = {chr(code) for code in range(0x110000) if CONTROL_CHARACTERS.fullmatch(chr(code))}

    assert by_rule == by_category
    assert len(by_rule) == 67  # 32 C0, DEL, 32 C1, U+2028, U+2029


def test_text_with_any_control_character_is_told_apart_from_text_without():
    for text in ("a\tb", "line\n", "\x00", "x\x7f", "\x85", "a\u2028b", "b\u2029"):
        assert has_control_characters(text), repr(text)
    for text in ("", "plain text", "café – naïve “quotes” 東京", "a b\u00a0c", "zero\u200bwidth"):
        assert not has_control_characters(text), repr(text)


def test_control_characters_are_escaped_and_everything_else_kept():
    assert escaped_control_characters("Fine\x1b[2J\r\nnext\u2028é\x9b") == "Fine\\x1b[2J\\r\\nnext\\u2028é\\x9b"
    assert escaped_control_characters("nothing to do — ünïcödé") == "nothing to do — ünïcödé"


def test_storable_text_drops_nul_and_lone_surrogates_and_keeps_the_rest():
    assert storable_text("bad\x00re\ud800quest\udfff — ünïcödé 🙂\t\n") == "badrequest — ünïcödé 🙂\t\n"


@pytest.mark.parametrize("error", [TransientError, PermanentError, StageRejected])
def test_a_stage_error_is_storable_whatever_its_message_quoted(error):
    """Stage errors are stored (the task's error, its events, a stage's warnings) and quote
    providers' answers and fetched pages."""
    assert str(error("HTTP 400: bad\x00request\ud800")) == "HTTP 400: badrequest"
    assert TransientError("a\x00b", retry_after=5).retry_after == 5
