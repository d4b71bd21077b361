"""The script tests' scratch database: `make run` and `make serve` each get one of their own."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from django.conf import settings


@pytest.fixture
def scratch_database_url():
    """A database of its own on the server the suite uses, dropped afterwards."""
    db = settings.DATABASES["default"]
    name = f"pressroom_makerun_{uuid.uuid4().hex[:8]}"
    admin_url = os.environ["DATABASE_URL"]
    admin_conninfo = dict(
        dbname="postgres", user=db["USER"] or None, password=db["PASSWORD"] or None,
        host=db["HOST"] or None, port=db["PORT"] or None,
    )
    with psycopg.connect(autocommit=True, **admin_conninfo) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    prefix, _, query = admin_url.partition("?")
    yield prefix.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    with psycopg.connect(autocommit=True, **admin_conninfo) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
