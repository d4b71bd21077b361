"""Fixtures of the content tests that fetch web pages from a local server."""

from __future__ import annotations

import pytest

from tests.content.fake_servers import PageServer


@pytest.fixture
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture
def allow_private(settings):
    """The page server lives on 127.0.0.1, which the URL guard refuses unless told otherwise."""
    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True
