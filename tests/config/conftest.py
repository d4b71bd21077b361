"""Fixtures of the configuration tests."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.processes import free_port


@pytest.fixture
def stopped_database():
    """The test's connection pointed at a port where no PostgreSQL listens, then restored."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = str(free_port())
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
