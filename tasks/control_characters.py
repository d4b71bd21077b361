"""Control characters: the one rule for text from outside that ends up in a mail header, a URL or
an operator's terminal.

A control character here is a C0 or C1 control (DEL among them: Unicode category Cc) or a line or
paragraph separator (U+2028, U+2029: categories Zl and Zp). Each can break a line where a line
must not break (a forged `Bcc:` header, a second log line), drive a terminal (`\\x1b[…`), or be
dropped silently by a parser (`urlsplit` removes a tab). `config.email_addresses` refuses them in
addresses, `tasks.url_guard` in URLs, and `queue_status` escapes them in what it prints.

One-line text a person gives that pages show (a brief's title, topic, category and tags) also
refuses the characters that change how the text around them is shown (`first_hidden_character`,
applied by `tasks.validators.validate_shown_line`).

Apart from those, two characters cannot be stored at all: PostgreSQL's text and jsonb hold no
NUL, and a lone surrogate has no UTF-8 form. `storable_text` drops them from text that is kept
rather than refused (a provider's answer or error, a fetched page); `tasks.validators` refuses
them in what a user sends.
"""

from __future__ import annotations

import re
import unicodedata

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def _escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def escaped_control_characters(text: str) -> str:
    """`text` with each control character written as its Python escape (`\\x1b`, `\\u2028`)."""
    return CONTROL_CHARACTERS.sub(_escape, text)


# Characters that change how the text around them is shown: the bidirectional embeddings and
# overrides (U+202A-U+202E) and isolates (U+2066-U+2069). "report\u202egpj.exe" shows as
# "reportexe.jpg": in a title or a tag, a reviewer would approve one text and readers see another.
LAYOUT_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def escaped_hidden_characters(text: str) -> str:
    """`text` with each control or layout-changing character written as its Python escape
    (`\\x1b`, `\\u202e`): what an operator's terminal shows of text from outside."""
    return LAYOUT_CONTROLS.sub(_escape, escaped_control_characters(text))


def first_hidden_character(text: str) -> str | None:
    """The first control or layout-changing character of `text`, named for a person
    ("U+202E RIGHT-TO-LEFT OVERRIDE"), or None: the rule for one-line text a person gives that
    pages show (a brief's title, topic, category and tags)."""
    found = CONTROL_CHARACTERS.search(text) or LAYOUT_CONTROLS.search(text)
    if found is None:
        return None
    character = found.group()
    return f"U+{ord(character):04X} {unicodedata.name(character, 'CONTROL CHARACTER')}"


def without_hidden_characters(text: str) -> str:
    """`text` without the characters `first_hidden_character` names: one-line text that pages
    show and that comes from a model (a generated title) is cleaned by the rule a person's is held to."""
    return LAYOUT_CONTROLS.sub("", CONTROL_CHARACTERS.sub("", text))


def as_one_line(text: str) -> str:
    """`text` as one line of a digest email, each of those characters a space and runs of spaces one:
    a line break would forge lines, a control character (an escape sequence) drive the terminal of
    whoever reads the mail there, and a layout control (a right-to-left override) show the rest of
    the line, the task's link included, reversed. A failure message quotes a provider's error as it
    came, so these are replaced rather than refused."""
    return " ".join(LAYOUT_CONTROLS.sub(" ", CONTROL_CHARACTERS.sub(" ", text)).split())


UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` without the characters PostgreSQL cannot store (NUL; a lone surrogate, which has no
    UTF-8 form). For text from a provider, where refusing would fail a paid-for answer or a
    whole research stage over one stray character."""
    return UNSTORABLE_CHARACTERS.sub("", text)
