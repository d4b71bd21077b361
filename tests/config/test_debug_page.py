"""The debug page (DEBUG=1) never prints a credential, whatever the setting is called."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings
from django.views.debug import get_default_exception_reporter_filter, technical_500_response

PASSWORD = "s3cr3t-pa55word"
DATABASE_URL = f"postgresql://pressroom:{PASSWORD}@db.internal:5432/pressroom"


@pytest.fixture
def credential_settings():
    with override_settings(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=f"redis://:{PASSWORD}@redis:6379/0",
        SENTRY_DSN=f"https://key{PASSWORD}@sentry.example/1",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": DATABASE_URL}},
        CHANNEL_LAYERS={"default": {"CONFIG": {"hosts": [f"redis://u:{PASSWORD}@redis:6379/1"]}}},
        UPSTREAM=f"amqp://guest:{PASSWORD}@broker:5672/",  # a name no pattern knows
        HOMEPAGE="https://example.com/",  # no password: stays readable
    ):
        yield


def test_safe_settings_hide_connection_strings_and_any_url_with_a_password(credential_settings):
    safe = get_default_exception_reporter_filter().get_safe_settings()

    assert PASSWORD not in repr(safe)
    assert safe["HOMEPAGE"] == "https://example.com/"


def test_a_real_debug_500_page_never_prints_the_password(credential_settings):
    request = RequestFactory().get("/boom")
    try:
        raise RecursionError("boom")
    except RecursionError:
        import sys

        response = technical_500_response(request, *sys.exc_info())

    page = response.content.decode()
    assert "DATABASE_URL" in page
    assert PASSWORD not in page
