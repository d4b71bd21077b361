"""Absurd environment values stop the start with one line naming the variable, never a
ValueError from deep inside urllib, redis-py or logging."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int
from tests.config.test_settings import _manage

NAME = "PRESSROOM_SOME_NUMBER"


def _last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("raw", ["١٢٣", "１２", "1_000", "0x10", "12.0"])
def test_an_integer_variable_takes_ascii_digits_only(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME} must be an integer, got {raw!r}\.$"):
        env_int(NAME, 5, minimum=1, maximum=10_000)


@pytest.mark.parametrize("raw, value", [("+7", 7), ("-3", -3), (" 42 ", 42)])
def test_an_integer_variable_keeps_a_sign_and_surrounding_spaces(monkeypatch, raw, value):
    monkeypatch.setenv(NAME, raw)
    assert env_int(NAME, 5) == value


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:99999/pressroom", "Port out of range 0-65535"),
        ("DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:abc/pressroom", "Port could not be cast"),
        ("DATABASE_URL", "postgresql://postgres:hunter2@[::1/pressroom", "Invalid IPv6 URL"),
        ("DATABASE_REPLICA_URL", "postgresql://postgres:hunter2@replica:70000/pressroom", "Port out of range"),
        ("REDIS_URL", "redis://:hunter2@127.0.0.1:99999/9", "Port out of range 0-65535"),
        ("PRESSROOM_SITE_URL", "https://pressroom.example.com:99999", "Port out of range 0-65535"),
        ("PRESSROOM_SITE_URL", "https://[::1", "Invalid IPv6 URL"),
    ],
)
def test_a_malformed_url_stops_the_start_naming_the_variable_without_its_password(variable, value, problem):
    result = _manage("check", **{variable: value})
    assert result.returncode != 0
    last = _last_line(result)
    assert last.startswith(f"django.core.exceptions.ImproperlyConfigured: {variable} is not a valid URL: {problem}")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://127.0.0.1:6379/9", "REDIS_URL must start with redis://, rediss:// or unix:// (got scheme 'http')."),
        ("redis://127.0.0.1:6379/nine", "REDIS_URL: the database after the host must be a number (got 'nine')."),
    ],
)
def test_a_redis_url_redis_py_cannot_read_stops_the_start(value, message):
    result = _manage("check", REDIS_URL=value)
    assert result.returncode != 0
    assert _last_line(result) == f"django.core.exceptions.ImproperlyConfigured: {message}"


def test_an_unknown_log_level_stops_the_start_naming_the_variable():
    result = _manage("check", LOG_LEVEL="verbose")
    assert result.returncode != 0
    assert _last_line(result) == (
        "django.core.exceptions.ImproperlyConfigured: LOG_LEVEL must be one of debug, info, warning, error, "
        "critical, got 'verbose'."
    )


def test_an_empty_log_level_is_the_default():
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.LOG_LEVEL)", LOG_LEVEL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "INFO"


@pytest.mark.parametrize("value", ["nan", "Mars/Olympus_Mons", "../../etc/passwd"])
def test_an_unknown_time_zone_stops_the_start_naming_the_variable(value):
    result = _manage("check", TIME_ZONE=value)
    assert result.returncode != 0
    assert _last_line(result) == (
        "django.core.exceptions.ImproperlyConfigured: TIME_ZONE must be a time zone name such as UTC or "
        f"Europe/Paris, got {value!r}."
    )


def test_a_known_time_zone_is_kept():
    code = "from django.conf import settings; print(settings.TIME_ZONE)"
    result = _manage("shell", "-c", code, TIME_ZONE="Europe/Paris")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Europe/Paris"


@pytest.mark.parametrize("variable, choices", [("PRESSROOM_IMAGE_PROVIDER", "offline, pexels"),
                                               ("PRESSROOM_IMAGE_GENERATOR", "offline, openai_images")])
def test_an_unknown_image_source_stops_the_start_naming_the_variable(variable, choices):
    result = _manage("check", **{variable: "bogus"})
    assert result.returncode != 0
    assert _last_line(result) == (
        f"django.core.exceptions.ImproperlyConfigured: {variable} must be one of {choices}, got 'bogus'.")


def test_an_empty_text_variable_is_its_default():
    code = ("from django.conf import settings; "
            "print(settings.Q_CLUSTER['name'], settings.MEDIA_ROOT == settings.VAR_DIR / 'media', "
            "settings.PRESSROOM_IMAGE_PROVIDER)")
    result = _manage("shell", "-c", code, PRESSROOM_QUEUE_NAME="", MEDIA_ROOT=" ", PRESSROOM_IMAGE_PROVIDER="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "pressroom True offline"
