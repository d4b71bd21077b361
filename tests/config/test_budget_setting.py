"""The site's monthly budget from the environment is checked at startup: an amount in USD with at
most two decimals, empty or 0 for no limit; anything else stops Pressroom naming the variable."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_money
from tests.config.test_settings import _manage

NAME = "PRESSROOM_MONTHLY_BUDGET"


def test_a_malformed_budget_stops_the_start_naming_the_variable():
    result = _manage("check", **{NAME: "lots"})
    assert result.returncode != 0
    assert f"{NAME} must be an amount in US dollars" in result.stderr


@pytest.mark.parametrize("raw", ["-5", "1e3", "NaN", "Infinity", "12.345", "$20", "1,000", "1.", ".5", "٣",
                                 "99999999999", "5 USD"])
def test_malformed_budgets_are_refused(monkeypatch, raw):
    monkeypatch.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=NAME):
        env_money(NAME)


@pytest.mark.parametrize("raw, amount", [("250", Decimal("250")), (" 99.50 ", Decimal("99.50")),
                                         ("0.5", Decimal("0.5")), ("", None), ("0", None), ("0.00", None)])
def test_well_formed_budgets_are_kept(monkeypatch, raw, amount):
    monkeypatch.setenv(NAME, raw)
    assert env_money(NAME) == amount


def test_an_unset_budget_is_no_limit(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    assert env_money(NAME) is None
