"""Integer variables have a range: a value outside it stops the start naming the variable and the
range, instead of failing later (a deadline that wraps around in its column made every task
creation fail, a lifetime past Python's dates crashed the settings with an OverflowError)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import COUNT_MAX, PORT_MAX, SECONDS_MAX, env_int
from tests.config.test_settings import _manage

NAME = "PRESSROOM_SOME_NUMBER"


@pytest.mark.parametrize("raw", ["0", "101", "-1", str(10**30)])
def test_a_value_outside_the_range_is_refused_with_the_range(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME} must be between 1 and 100, got {raw}\.$"):
        env_int(NAME, 5, minimum=1, maximum=100)


@pytest.mark.parametrize("raw, value", [("1", 1), (" 100 ", 100), ("", 5)])
def test_a_value_inside_the_range_is_kept(monkeypatch, raw, value):
    monkeypatch.setenv(NAME, raw)
    assert env_int(NAME, 5, minimum=1, maximum=100) == value


def test_one_bound_alone_is_named_alone(monkeypatch):
    monkeypatch.setenv(NAME, "7")
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME} must be at most 6, got 7\.$"):
        env_int(NAME, 5, maximum=6)
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME} must be at least 8, got 7\.$"):
        env_int(NAME, 5, minimum=8)


def test_a_number_too_long_to_read_is_not_an_integer(monkeypatch):
    monkeypatch.setenv(NAME, "9" * 5000)  # past Python's 4,300-digit limit for int()
    with pytest.raises(ImproperlyConfigured, match=rf"^{NAME} must be an integer"):
        env_int(NAME, 5, minimum=1, maximum=100)


@pytest.mark.parametrize(
    ("variable", "value", "maximum"),
    [
        # each wrapped around in its column or overflowed a date or timer before it had a maximum
        ("PRESSROOM_MAX_ATTEMPTS", "40000", COUNT_MAX),
        ("PRESSROOM_TASK_TIMEOUT", "3000000000", SECONDS_MAX),
        ("JWT_ACCESS_MINUTES", "100000000000000", SECONDS_MAX // 60),
        ("PRESSROOM_BLOG_CACHE_SECONDS", "100000000000000", SECONDS_MAX),
        ("PRESSROOM_NOTIFY_DIGEST_SECONDS", "100000000000000", SECONDS_MAX),
        ("EMAIL_PORT", "70000", PORT_MAX),
    ],
)
def test_an_absurd_setting_stops_the_start_naming_the_variable(variable, value, maximum):
    result = _manage("check", **{variable: value})
    assert result.returncode != 0
    assert f"{variable} must be between" in result.stderr and f"and {maximum}, got {value}." in result.stderr

