"""A database that applied content 0006 in its first form (no database default on
`excerpt_by_person`, 2026-12-03 06:10–07:01) gets the default that the edited 0006 gives every
other database (migration 0008)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.upgrades import database_at, migrate_to

BEFORE = ("content", "0007_audit_trail_plural_entries")


def _default() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_default FROM information_schema.columns "
                       "WHERE table_name = 'content_contentversion' AND column_name = 'excerpt_by_person'")
        return cursor.fetchone()[0]


def test_a_database_whose_0006_gave_no_default_has_it_after_migrate(transactional_db):
    with database_at(BEFORE):
        with connection.cursor() as cursor:  # what 0006 as of 081288d left
            cursor.execute("ALTER TABLE content_contentversion ALTER COLUMN excerpt_by_person DROP DEFAULT")
        assert _default() is None
        migrate_to()
        assert _default() == "false"
