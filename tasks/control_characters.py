"""Control characters: the one rule for text from outside that ends up in a mail header, a URL or
an operator's terminal.

A control character here is a C0 or C1 control (DEL among them: Unicode category Cc) or a line or
paragraph separator (U+2028, U+2029: categories Zl and Zp). Each can break a line where a line
must not break (a forged `Bcc:` header, a second log line), drive a terminal (`\\x1b[…`), or be
dropped silently by a parser (`urlsplit` removes a tab). `config.email_addresses` refuses them in
addresses, `tasks.url_guard` in URLs, and `queue_status` escapes them in what it prints.

Apart from those, two characters cannot be stored at all: PostgreSQL's text and jsonb hold no
NUL, and a lone surrogate has no UTF-8 form. `storable_text` drops them from text that is kept
rather than refused (a provider's answer or error, a fetched page); `tasks.validators` refuses
them in what a user sends.
"""

from __future__ import annotations

import re

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def escaped_control_characters(text: str) -> str:
    """`text` with each control character written as its Python escape (`\\x1b`, `\\u2028`)."""
    return CONTROL_CHARACTERS.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` without the characters PostgreSQL cannot store (NUL; a lone surrogate, which has no
    UTF-8 form). For text from a provider, where refusing would fail a paid-for answer or a
    whole research stage over one stray character."""
    return UNSTORABLE_CHARACTERS.sub("", text)
