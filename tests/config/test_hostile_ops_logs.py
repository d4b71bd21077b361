"""Log lines under hostile text: a value a client or a provider chose (a username, an error message)
cannot forge a line in the development format, nor fill the log in either format."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from config.log_format import MESSAGE_MAX_CHARACTERS

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


def test_a_hostile_value_stays_inside_one_json_object(log_as):
    stream = log_as("json")
    log_as.logger.warning("Locked out %s", FORGED + '"}\n{"level": "INFO", "message": "forged')
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["message"].startswith("Locked out mallory\n2026-12-03")
