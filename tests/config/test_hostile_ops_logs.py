"""Log lines under hostile text: a value a client or a provider chose (a username, an error message)
cannot forge a line in the development format, nor fill the log in either format, in a message or
in a traceback."""

from __future__ import annotations

import io
import json
import logging
import re
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils.module_loading import import_string
from redis.exceptions import ConnectionError as RedisConnectionError

from config.log_format import CONTINUATION_INDENT, MESSAGE_MAX_CHARACTERS, TRACEBACK_MAX_CHARACTERS, bounded

FORGED = "mallory\n2026-12-03 13:00:00,000 INFO django.security 1 task=- request=- admin logged in"


def _handler(format_name: str) -> tuple[logging.Handler, io.StringIO]:
    """A handler writing to a string with the formatter and filter settings.LOGGING gives
    `format_name`."""
    stream = io.StringIO()
    config = dict(django_settings.LOGGING["formatters"][format_name])
    formatter = import_string(config.pop("()"))(**config)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(import_string(django_settings.LOGGING["filters"]["log_context"]["()"])())
    return handler, stream


@pytest.fixture
def log_as():
    logger = logging.getLogger("pressroom.test.hostile")
    saved_level, saved_propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    added = []

    def use(format_name: str) -> io.StringIO:
        handler, stream = _handler(format_name)
        logger.addHandler(handler)
        added.append(handler)
        return stream

    use.logger = logger
    yield use
    for handler in added:
        logger.removeHandler(handler)
    logger.setLevel(saved_level)
    logger.propagate = saved_propagate


def test_a_newline_in_a_logged_value_does_not_start_a_line_in_the_text_format(log_as):
    stream = log_as("text")
    log_as.logger.warning("Locked out %s after repeated login failures.", FORGED)
    output = stream.getvalue()
    assert output.count("\n") == 1  # the record's own end of line
    assert "mallory\\n2026-12-03" in output


def test_carriage_returns_escapes_and_nul_are_written_as_escapes_in_the_text_format(log_as):
    stream = log_as("text")
    log_as.logger.warning("Title %s", "a\rb\x1b[2J\x1b[31mred\x00\u2028c\x85d")
    line = stream.getvalue().removesuffix("\n")
    assert line.endswith("Title a\\rb\\x1b[2J\\x1b[31mred\\x00\\u2028c\\x85d")
    assert not any(character in line for character in "\r\x1b\x00\u2028\x85")


def test_only_the_first_line_of_a_record_with_a_traceback_starts_at_column_zero(log_as):
    stream = log_as("text")
    try:
        raise ValueError(FORGED)
    except ValueError:
        log_as.logger.exception("Unexpected error")
    first, *rest = stream.getvalue().removesuffix("\n").split("\n")
    assert "Unexpected error" in first
    assert rest and all(line.startswith("    ") for line in rest)


def test_control_characters_in_a_traceback_are_written_as_escapes_in_the_text_format(log_as):
    """An exception's message quotes outside text too (a provider's error, a fetched page): a
    carriage return there overwrote the line on a terminal, an escape repainted it."""
    stream = log_as("text")
    try:
        raise ValueError("provider said a\rb\x1b[2J\x1b[31mred\x00\u2028c\x85d")
    except ValueError:
        log_as.logger.exception("Unexpected error")
    output = stream.getvalue().removesuffix("\n")
    assert "ValueError: provider said a\\rb\\x1b[2J\\x1b[31mred\\x00\\u2028c\\x85d" in output
    assert not any(character in output for character in "\r\x1b\x00\u2028\x85")


def test_a_megabyte_message_is_cut_in_the_text_format(log_as):
    stream = log_as("text")
    log_as.logger.warning("Finished: failed (%s)", "x" * 1_000_000)
    line = stream.getvalue()
    assert line.count("x") == MESSAGE_MAX_CHARACTERS - len("Finished: failed (")
    assert f"({1_000_000 - MESSAGE_MAX_CHARACTERS + len('Finished: failed (') + 1} more characters not logged)" in line


def test_a_megabyte_message_is_cut_in_the_json_format(log_as):
    stream = log_as("json")
    log_as.logger.warning("Finished: failed (%s)", "x" * 1_000_000)
    record = json.loads(stream.getvalue())
    assert record["message"].startswith("Finished: failed (xxx")
    assert len(record["message"]) < MESSAGE_MAX_CHARACTERS + 100


def test_an_extra_string_of_a_megabyte_is_cut_as_a_message_is_in_the_json_format(log_as):
    """Before, only the message was bounded: a path or a provider's answer passed as `extra` wrote
    itself whole, a megabyte a line."""
    stream = log_as("json")
    log_as.logger.warning("Request finished", extra={"path": "/" + "x" * 1_000_000, "status": 404})
    record = json.loads(stream.getvalue())
    assert record["path"] == "/" + "x" * (MESSAGE_MAX_CHARACTERS - 1) + f"… ({1_000_001 - MESSAGE_MAX_CHARACTERS} more characters not logged)"
    assert record["status"] == 404 and record["message"] == "Request finished"


def test_an_extra_value_whose_repr_is_too_long_is_its_repr_cut_in_the_json_format(log_as):
    stream = log_as("json")
    ids = list(range(300_000))
    log_as.logger.warning("Swept", extra={"ids": ids, "few": [1, 2, 3]})
    record = json.loads(stream.getvalue())
    assert record["ids"] == bounded(repr(ids)) and record["ids"].startswith("[0, 1, 2, ")
    assert record["ids"].endswith(f"… ({len(repr(ids)) - MESSAGE_MAX_CHARACTERS} more characters not logged)")
    assert record["few"] == [1, 2, 3]  # a short value keeps its JSON type


def test_an_extra_value_without_a_repr_is_named_by_its_type_and_the_record_kept(log_as):
    """An int past Python's 4,300 digits has no repr and no JSON: the record was lost, with a
    'Logging error' traceback on stderr instead."""
    stream = log_as("json")
    log_as.logger.warning("Counted", extra={"count": 10**5000})
    record = json.loads(stream.getvalue())
    assert record["count"] == "<int not logged: ValueError>" and record["message"] == "Counted"


def test_a_hostile_value_stays_inside_one_json_object(log_as):
    stream = log_as("json")
    log_as.logger.warning("Locked out %s", FORGED + '"}\n{"level": "INFO", "message": "forged')
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"].startswith("Locked out mallory\n2026-12-03")


# --- tracebacks and stacks ------------------------------------------------------------------------
CUT = re.compile(r"^… ([0-9,]+) characters cut …$", re.MULTILINE)
ANSWER = "provider says no " * 60_000  # a megabyte


def _chained_megabyte_error() -> ValueError:
    """A provider's megabyte error, quoted again by each of the two exceptions raised while
    handling it: a traceback that holds it three times."""
    try:
        try:
            try:
                raise ConnectionError(ANSWER)
            except ConnectionError as error:
                raise RuntimeError(f"retrying failed: {error}") from error
        except RuntimeError as error:
            raise ValueError(f"giving up: {error}")
    except ValueError as error:
        return error


def _ping(depth: int, log: bool = False):
    if depth == 0:
        if log:
            return logging.getLogger("pressroom.test.hostile").warning("Deep", stack_info=True)
        raise RecursionError("deep enough")
    return _pong(depth - 1, log)


def _pong(depth: int, log: bool):  # two functions in turn: Python folds repeated frames, not these
    return _ping(depth - 1, log)


def _deep_error() -> RecursionError:
    try:
        _ping(600)
    except RecursionError as error:
        return error


def _formatted(error: BaseException) -> str:
    return logging.Formatter().formatException((type(error), error, error.__traceback__))


def _traceback_of_text(output: str) -> str:
    first, *rest = output.removesuffix("\n").split("\n")
    assert all(line.startswith(CONTINUATION_INDENT) for line in rest), "only a record's first line at column 0"
    return "\n".join(line.removeprefix(CONTINUATION_INDENT) for line in rest)


def _assert_head_and_tail_of(bounded: str, whole: str) -> None:
    """`bounded` is the first and last lines of `whole` around a line that counts exactly the
    characters cut between them, and no longer than the limit and that line."""
    [marker] = CUT.finditer(bounded)
    head, tail = bounded[:marker.start() - 1], bounded[marker.end() + 1:]
    cut = int(marker.group(1).replace(",", ""))
    assert whole.startswith(head + "\n") and whole.endswith("\n" + tail)
    assert len(head) + 1 + cut + 1 + len(tail) == len(whole)
    assert len(bounded) - len(marker.group()) <= TRACEBACK_MAX_CHARACTERS < len(whole)


def _assert_megabyte_lines_cut(bounded: str) -> None:
    """Each quoting line keeps its start (the exception's type) and says how much was cut."""
    lines = bounded.split("\n")
    assert len(bounded) < TRACEBACK_MAX_CHARACTERS and all(len(line) < 1100 for line in lines)
    for start, whole in [("ConnectionError: ", ANSWER), ("RuntimeError: ", f"retrying failed: {ANSWER}"),
                         ("ValueError: ", f"giving up: retrying failed: {ANSWER}")]:
        [line] = [line for line in lines if line.startswith(start)]
        assert line.endswith(f"… ({len(start) + len(whole) - 1000:,} characters cut)")
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("ValueError: giving up")


def test_a_chained_traceback_of_megabyte_messages_is_cut_line_by_line_in_the_text_format(log_as):
    stream = log_as("text")
    log_as.logger.error("Delivery failed", exc_info=_chained_megabyte_error())
    assert "Delivery failed" in stream.getvalue().split("\n")[0]
    _assert_megabyte_lines_cut(_traceback_of_text(stream.getvalue()))


def test_a_chained_traceback_of_megabyte_messages_is_cut_line_by_line_in_the_json_format(log_as):
    stream = log_as("json")
    log_as.logger.error("Delivery failed", exc_info=_chained_megabyte_error())
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "Delivery failed"
    _assert_megabyte_lines_cut(record["exc_info"])


@pytest.mark.parametrize("format_name", ["text", "json"])
def test_the_traceback_of_a_deep_recursion_keeps_its_head_and_tail(log_as, format_name):
    stream = log_as(format_name)
    error = _deep_error()
    log_as.logger.error("Task crashed", exc_info=error)
    output = stream.getvalue()
    traceback = json.loads(output)["exc_info"] if format_name == "json" else _traceback_of_text(output)
    _assert_head_and_tail_of(traceback, _formatted(error))
    assert traceback.endswith("RecursionError: deep enough")


@pytest.mark.parametrize("format_name", ["text", "json"])
def test_the_stack_of_a_deep_recursion_keeps_its_head_and_tail(log_as, format_name):
    stream = log_as(format_name)
    _ping(600, log=True)
    output = stream.getvalue()
    stack = json.loads(output)["stack_info"] if format_name == "json" else _traceback_of_text(output)
    [marker] = CUT.finditer(stack)
    assert stack.startswith("Stack (most recent call last):") and "in _ping" in stack[marker.end():]
    assert len(stack) - len(marker.group()) <= TRACEBACK_MAX_CHARACTERS


@pytest.mark.parametrize("format_name", ["text", "json"])
def test_a_traceback_of_ordinary_length_is_logged_whole(log_as, format_name):
    stream = log_as(format_name)
    try:
        raise KeyError("slug")
    except KeyError as error:
        whole = _formatted(error)
        log_as.logger.exception("Not found")
    output = stream.getvalue()
    traceback = json.loads(output)["exc_info"] if format_name == "json" else _traceback_of_text(output)
    assert traceback == whole


def test_a_traceback_another_formatter_left_on_the_record_is_cut_and_the_record_left_as_it_was(log_as):
    stream = log_as("text")
    record = log_as.logger.makeRecord(log_as.logger.name, logging.ERROR, __file__, 1, "Failed", (), None)
    whole = "Traceback (most recent call last):\n" + "  line\n" * 100_000 + "OSError: full"
    record.exc_text = whole
    log_as.logger.handle(record)
    _assert_head_and_tail_of(_traceback_of_text(stream.getvalue()), whole)
    assert record.exc_text == whole


@contextmanager
def console_of(logger_name: str, log_format: str):
    """What the console handler of settings.LOGGING (every filter it names) writes, in the format
    `log_format`, of the records of `logger_name` and the loggers under it."""
    stream = io.StringIO()
    config = django_settings.LOGGING["handlers"]["console"]
    formatter_config = dict(django_settings.LOGGING["formatters"][log_format])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(import_string(formatter_config.pop("()"))(**formatter_config))
    for name in config["filters"]:
        handler.addFilter(import_string(django_settings.LOGGING["filters"][name]["()"])())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def console_output(request):
    """The console's lines in the format `request.param` of records under `django.security`,
    which Django logs as it refuses a request."""
    with console_of("django.security", request.param) as stream:
        yield stream


@pytest.mark.parametrize("console_output", ["text", "json"], indirect=True)
def test_a_host_header_not_allowed_is_one_short_warning_line_without_a_traceback(client, console_output):
    host = "h" * 8000 + ".example"

    response = client.get("/healthz", HTTP_HOST=host)

    assert response.status_code == 400
    output = console_output.getvalue()
    assert output.count("\n") == 1, "one line, no traceback"
    assert "Traceback" not in output and "Invalid HTTP_HOST header" in output
    assert "WARNING" in output and "ERROR" not in output
    assert len(output) < 1500, len(output)


def test_in_development_a_host_header_not_allowed_is_written_once_without_a_traceback(client, settings, monkeypatch):
    """With DEBUG on (`make run`), Django's own default handler on the `django` logger, which
    settings.LOGGING did not replace, wrote every `django.*` record a second time, as plain text
    with its traceback and the whole header: the refusal above, a `_to_field` or too many fields
    in the admin, every 4xx of the API."""
    settings.DEBUG = True  # Django's default console handler writes only then (require_debug_true)
    stream = io.StringIO()
    logger = logging.getLogger("django.security.DisallowedHost")
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest"):
                monkeypatch.setattr(handler, "stream", stream)
        logger = logger.parent if logger.propagate else None

    response = client.get("/healthz", HTTP_HOST="h" * 8000 + ".example")

    assert response.status_code == 400
    output = stream.getvalue()
    assert output.count("Invalid HTTP_HOST header") == 1, [line[:200] for line in output.splitlines()]
    assert "Traceback" not in output and output.count("\n") == 1 and len(output) < 1500


def _raised(error: BaseException) -> BaseException:
    """`error` as Django's database wrapper raises it, with the driver's error as its cause."""
    try:
        with connection.wrap_database_errors:
            raise error
    except Exception as wrapped:  # noqa: BLE001 (returned for the test to log)
        return wrapped


QUEUE_OUTAGES = {
    "ORM broker, server stopped": psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
    "Redis broker away": RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
}


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("error", QUEUE_OUTAGES.values(), ids=QUEUE_OUTAGES.keys())
def test_django_q2s_record_of_an_outage_is_one_warning_line_naming_the_error(log_format, error):
    """django-q2's pusher logs "Failed to pull task from broker" with its traceback every 10 s per
    cluster while the broker is away, its monitor "Could not save task result" for every job."""
    error = _raised(error) if isinstance(error, psycopg.Error) else error
    with console_of("django-q", log_format) as stream:
        try:
            raise error
        except Exception:
            logging.getLogger("django-q").exception("Failed to pull task from broker")
    output = stream.getvalue()
    assert output.count("\n") == 1 and "Traceback" not in output, output
    assert "WARNING" in output and "ERROR" not in output
    assert f"Failed to pull task from broker: {type(error).__name__}: " in output


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_django_q2s_record_of_any_other_error_keeps_its_traceback(log_format):
    deadlock = _raised(psycopg.errors.DeadlockDetected("deadlock detected"))  # a server that answered
    with console_of("django-q", log_format) as stream:
        for error in (deadlock, ValueError("a bug")):
            try:
                raise error
            except Exception:
                logging.getLogger("django-q").exception("Could not save task result")
    output = stream.getvalue()
    assert "Traceback" in output and "DeadlockDetected: deadlock detected" in output and "ValueError: a bug" in output
    assert output.count("Could not save task result") == 2 and output.count("ERROR") == 2 and "WARNING" not in output


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_same_outage_line_of_django_q2_is_written_once_a_minute_with_how_many_were_left_out(
        log_format, monkeypatch):
    """The sentinel logs the error alone at ERROR each time it fails to save the cluster's status,
    every half second: 120 lines a minute per cluster while Redis was away."""
    from config import log_format as module

    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    away = RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with console_of("django-q", log_format) as stream:
        for _ in range(120):  # a minute of it, then the first of the next minute
            logging.getLogger("django-q").error(away)
            clock[0] += 0.5
        logging.getLogger("django-q").error(away)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and all("WARNING" in line and "ERROR" not in line for line in lines), lines
    summary = "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused."
    assert [_message_of(line, log_format) for line in lines] == [
        summary, f"{summary} (119 more such lines in the last 60 s left out)"]


def _message_of(line: str, log_format: str) -> str:
    """The message of one line the console wrote."""
    return json.loads(line)["message"] if log_format == "json" else line.split(" request=- ", 1)[1]
