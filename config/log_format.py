"""The two log formats of settings.LOGGING, made safe for messages that carry outside text.

A message may quote what a client or a provider chose: a username at a lockout, an error a
provider returned, an origin. In the readable (`text`) format a newline in such a value would
start a line of its own that reads like a real record, and an ANSI escape would repaint the
terminal; so control characters of the message (newlines, carriage returns, escapes, NUL, the
Unicode line separators) are written as escapes (`\\n`, `\\x1b`), in the message and in the
traceback alike, and every further line of a record (its traceback) is indented, so that only a record's first line starts at column 0. JSON
escapes them already. In both formats a message longer than MESSAGE_MAX_CHARACTERS is cut, and
says how much was left out, so one huge value cannot fill the log, and in JSON each value passed
as `extra` is cut the same way (its repr, when it is not a string). So is a traceback (`exc_info`)
or a stack (`stack_info`) longer than TRACEBACK_MAX_CHARACTERS: a deep recursion, or a huge
exception message repeated down a chain of exceptions, wrote megabytes in one record. Then each
line longer than TRACEBACK_LINE_MAX_CHARACTERS keeps its start (an exception's type and the start
of its message, with a note of how much was cut); if that is not enough, the traceback keeps its
first lines (where it started) and its last ones (the innermost frames and the exception raised),
half the limit each, around a line saying how many characters were cut between them.

Django's `django.security.*` records are requests it refused as a client's fault (a Host header
not in ALLOWED_HOSTS, a suspicious file name, too many fields, a CSRF failure): Django logs most
at ERROR with a traceback that says nothing about the server, and quotes what the client sent,
an 8 kB Host header three times (27 kB per request). `ClientRefusalFilter` makes each one line at
WARNING without the traceback, its message cut to CLIENT_REFUSAL_MAX_CHARACTERS; the request's
own log line records the 400 as well.

django-q2 logs an outage as any other failure: the pusher's "Failed to pull task from broker"
with its traceback every 10 s per cluster while the broker is away, the monitor's "Could not save
task result" per job, and the sentinel the error alone at ERROR every half second, as it fails to
save the cluster's status (120 lines a minute per cluster while Redis was away). `QueueOutageFilter`
makes each such record (under `django-q`, its error an outage by `config.outages.is_outage`) one
line at WARNING that ends with the error's summary, as Pressroom logs its own outages, and writes
the same line of a process at most once in OUTAGE_REPEAT_SECONDS, saying on the next one how many
it left out; any other error of django-q2 keeps its traceback and its level.

Imports nothing from the apps.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

MESSAGE_MAX_CHARACTERS = 10_000
TRACEBACK_MAX_CHARACTERS = 20_000  # its head and its tail, half each; a Django error's is 3–8,000
TRACEBACK_LINE_MAX_CHARACTERS = 1_000  # of each line of a traceback too long as a whole (+ a note)
CLIENT_REFUSAL_MAX_CHARACTERS = 500  # of the message of a request Django refused (`ClientRefusalFilter`)
CLIENT_REFUSALS = "django.security."
QUEUE_LOGGER = "django-q"  # django-q2's one logger
OUTAGE_REPEAT_SECONDS = 60  # the same outage line of django-q2 at most once in this (`QueueOutageFilter`)
OUTAGE_LINES_KEPT = 100  # distinct outage lines remembered for that (then forgotten all at once)
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


def cut(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with a note of how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters not logged)"


def bounded(message: str) -> str:
    """`message`, cut to MESSAGE_MAX_CHARACTERS with a note of how many characters were left out."""
    return cut(message, MESSAGE_MAX_CHARACTERS)


def bounded_traceback(text: str) -> str:
    """`text` (a traceback or a stack) within about TRACEBACK_MAX_CHARACTERS: its long lines cut,
    then, if still too long, its first and last lines around one saying how many characters of
    the lines between them were cut."""
    if len(text) <= TRACEBACK_MAX_CHARACTERS:
        return text
    lines = text.split("\n")
    shown = [line if len(line) <= TRACEBACK_LINE_MAX_CHARACTERS else
             f"{line[:TRACEBACK_LINE_MAX_CHARACTERS]}… ({len(line) - TRACEBACK_LINE_MAX_CHARACTERS:,} characters cut)"
             for line in lines]
    if sum(map(len, shown)) + len(shown) - 1 <= TRACEBACK_MAX_CHARACTERS:
        return "\n".join(shown)
    keep = TRACEBACK_MAX_CHARACTERS // 2
    first, size = 0, 0
    while size + len(shown[first]) + 1 <= keep:
        size += len(shown[first]) + 1
        first += 1
    last, size = len(shown), 0
    while size + len(shown[last - 1]) + 1 <= keep:
        size += len(shown[last - 1]) + 1
        last -= 1
    left_out = len("\n".join(lines[first:last]))
    return "\n".join([*shown[:first], f"… {left_out:,} characters cut …", *shown[last:]])


def as_one_warning_line(record: logging.LogRecord, message: str) -> None:
    """Make `record` the one line `message`: no traceback or stack, and at WARNING if it was above."""
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    if record.levelno > logging.WARNING:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)


class QueueOutageFilter(logging.Filter):
    """A django-q2 record whose error is an outage: one line at WARNING naming the error, without
    its traceback, and not again within OUTAGE_REPEAT_SECONDS (see the module's docstring). A
    handler's filter, like ClientRefusalFilter."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._written: dict[str, tuple[float, int]] = {}  # line → (when written, how many left out since)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(QUEUE_LOGGER):
            return True
        error = record.exc_info[1] if record.exc_info else record.msg  # the sentinel logs the error itself
        if not isinstance(error, BaseException):
            return True
        from config.outages import is_outage, outage_summary  # Django's and DRF's modules: not at logging set-up

        if not is_outage(error):
            return True
        line = outage_summary(error) if error is record.msg else f"{record.getMessage()}: {outage_summary(error)}"
        with self._lock:
            now = time.monotonic()
            written, left_out = self._written.get(line, (None, 0))
            if written is not None and now - written < OUTAGE_REPEAT_SECONDS:
                self._written[line] = (written, left_out + 1)
                return False
            if len(self._written) >= OUTAGE_LINES_KEPT:
                self._written.clear()
            self._written[line] = (now, 0)
        if left_out:
            line += f" ({left_out} more such lines in the last {now - written:.0f} s left out)"
        as_one_warning_line(record, line)
        return True


class ClientRefusalFilter(logging.Filter):
    """A request Django refused as the client's fault (`django.security.*`): one line at WARNING, no
    traceback, a short message. A handler's filter, so that it sees the records of every logger
    under `django.security` (a logger's own filters see only records logged to that logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(CLIENT_REFUSALS):
            as_one_warning_line(record, cut(record.getMessage(), CLIENT_REFUSAL_MAX_CHARACTERS))
        return True


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

    def formatException(self, ei) -> str:
        return bounded_traceback(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return bounded_traceback(super().formatStack(stack_info))

    def format(self, record: logging.LogRecord) -> str:
        # A traceback another handler's formatter put on the record (exc_text) is bounded here
        # too, and the record given back as it came.
        given = record.exc_text
        if given:
            record.exc_text = bounded_traceback(given)
        try:
            text = super().format(record)
        finally:
            record.exc_text = given
        # The traceback's lines quote exception messages, outside text as well: escaped like the message.
        first, *rest = text.split("\n")
        return "\n".join([first, *(CONTINUATION_INDENT + one_line(line) for line in rest)])


def bounded_value(value):
    """A value of a JSON record other than its traceback (the message, an `extra`): a string cut
    as `bounded` cuts a message; anything else kept as it is unless its repr is longer than
    MESSAGE_MAX_CHARACTERS, when that repr, cut, stands in for it (a list of a million ids). A
    value without a repr (an int past Python's 4,300 digits, which json could not write either,
    and the record was lost) is named by its type."""
    if isinstance(value, str):
        return bounded(value)
    if value is None or isinstance(value, (bool, float)):
        return value
    try:
        shown = repr(value)
    except Exception as error:  # noqa: BLE001 - a log line must not fail on a value's repr
        return f"<{type(value).__qualname__} not logged: {type(error).__name__}>"
    return value if len(shown) <= MESSAGE_MAX_CHARACTERS else bounded(shown)


class JsonFormatter(_JsonFormatter):
    """The production format: one JSON object per line (json escapes control characters). Every
    value but the traceback and the stack is bounded as the message is (`extra` values quote
    outside text too: a path, a provider's answer)."""

    def process_log_record(self, log_data):
        for name, value in log_data.items():
            if name in ("exc_info", "stack_info"):
                if isinstance(value, str):
                    log_data[name] = bounded_traceback(value)
                elif isinstance(value, list):  # exc_info_as_array / stack_info_as_array: its lines
                    log_data[name] = bounded_traceback("\n".join(map(str, value))).split("\n")
            else:
                log_data[name] = bounded_value(value)
        return super().process_log_record(log_data)
