"""Re-create the rows data migrations seed (model catalog, editorial groups), which a
transactional test's flush removes, so every test starts from a migrated database's content."""

from importlib import import_module

from django.apps import apps


def ensure_seed_data() -> None:
    import_module("tasks.migrations.0002_cache_events_catalog").seed_catalog(apps, None)
    import_module("publishing.migrations.0002_editorial_groups").create_groups(apps, None)
