"""Upgrading a populated database in a test: the test database goes back to an older migration
state, the test fills it through that state's historical models, then migrates forward as an
operator's `migrate` would. Whatever happens, the database ends fully migrated for the tests after
it (use with `transactional_db`: the migrations commit, and the test's flush empties the tables)."""

from __future__ import annotations

from contextlib import contextmanager

from django.apps.registry import Apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

Target = tuple[str, str]


def migrate_to(targets: list[Target] | None = None) -> Apps:
    """Migrate the test database to `targets` (default: the latest migration of every app) and
    return the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    # The models of every migration now applied, not only of `targets` and what they depend on
    # (an app no target names stays where it was).
    loader = MigrationExecutor(connection).loader
    applied = set(loader.applied_migrations) & set(loader.graph.node_map)
    newest = [node for node in applied
              if not {child.key for child in loader.graph.node_map[node].children} & applied]
    return loader.project_state(newest).apps


@contextmanager
def database_at(*targets: Target):
    """The test database at `targets`, yielding its historical models; fully migrated afterwards."""
    try:
        yield migrate_to(list(targets))
    finally:
        migrate_to()
