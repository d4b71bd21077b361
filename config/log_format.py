"""The two log formats of settings.LOGGING, made safe for messages that carry outside text.

A message may quote what a client or a provider chose: a username at a lockout, an error a
provider returned, an origin. In the readable (`text`) format a newline in such a value would
start a line of its own that reads like a real record, and an ANSI escape would repaint the
terminal; so control characters of the message (newlines, carriage returns, escapes, NUL, the
Unicode line separators) are written as escapes (`\\n`, `\\x1b`), and every further line of a
record (its traceback) is indented, so that only a record's first line starts at column 0. JSON
escapes them already. In both formats a message longer than MESSAGE_MAX_CHARACTERS is cut, and
says how much was left out, so one huge value cannot fill the log.

Imports nothing from the apps.
"""

from __future__ import annotations

import logging
import re

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

MESSAGE_MAX_CHARACTERS = 10_000
CONTINUATION_INDENT = "    "

# C0 controls but the tab, DEL, C1 controls, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    character = match.group()
    if character in _ESCAPES:
        return _ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def bounded(message: str) -> str:
    """`message`, cut to MESSAGE_MAX_CHARACTERS with a note of how many characters were left out."""
    if len(message) <= MESSAGE_MAX_CHARACTERS:
        return message
    left_out = len(message) - MESSAGE_MAX_CHARACTERS
    return f"{message[:MESSAGE_MAX_CHARACTERS]}… ({left_out} more characters not logged)"


def one_line(text: str) -> str:
    """`text` with its control characters written as escapes: it cannot break a line."""
    return _UNSAFE.sub(_escape, text)


class TextFormatter(logging.Formatter):
    """The development format: one line per record, then the record's traceback indented."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The first line of the record, with the message and the context ids on it made safe.
        record.message = one_line(bounded(record.message))
        for name in ("task_id", "request_id"):
            if hasattr(record, name):
                setattr(record, name, one_line(str(getattr(record, name))))
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = super().format(record).split("\n")
        return "\n".join([first, *(CONTINUATION_INDENT + line for line in rest)])


class JsonFormatter(_JsonFormatter):
    """The production format: one JSON object per line (json escapes control characters)."""

    def process_log_record(self, log_data):
        message = log_data.get("message")
        if isinstance(message, str):
            log_data["message"] = bounded(message)
        return super().process_log_record(log_data)
