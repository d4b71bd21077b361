"""Throttle rates from the environment are checked at startup: a malformed one stops Pressroom with
the variable's name and the accepted form, never a 500 on the first throttled request."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_rate
from tests.config.test_settings import _manage

RATES = ["PRESSROOM_AUTH_RATE", "PRESSROOM_TASK_CREATE_RATE", "PRESSROOM_PUBLIC_API_RATE"]


@pytest.mark.parametrize("name", RATES)
def test_a_malformed_rate_stops_the_start_naming_the_variable(name):
    result = _manage("check", **{name: "20 per minute"})
    assert result.returncode != 0
    assert f"{name} must be a rate <n>/<second|minute|hour|day>" in result.stderr


@pytest.mark.parametrize("raw", ["twenty/minute", "0/minute", "20/fortnight", "20", "/minute", "-1/day", "2/minute/3"])
def test_malformed_rates_are_refused(monkeypatch, raw):
    monkeypatch.setenv("PRESSROOM_AUTH_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="PRESSROOM_AUTH_RATE"):
        env_rate("PRESSROOM_AUTH_RATE", "20/minute")


@pytest.mark.parametrize("raw, rate", [("5/second", "5/second"), (" 30/m ", "30/m"), ("100/day", "100/day"), ("", "20/minute")])
def test_well_formed_rates_are_kept(monkeypatch, raw, rate):
    monkeypatch.setenv("PRESSROOM_AUTH_RATE", raw)
    assert env_rate("PRESSROOM_AUTH_RATE", "20/minute") == rate


def test_a_malformed_trusted_proxy_stops_the_start_naming_the_variable():
    result = _manage("check", PRESSROOM_TRUSTED_PROXIES="10.0.0.0/8, proxy.internal")
    assert result.returncode != 0
    assert "PRESSROOM_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in result.stderr
