"""Going back a release: `migrate <app> <migration>` over a database in use, then forward again.

Each test takes the test database back with Django's `MigrationExecutor`, as `manage.py migrate`
does, and always forward again afterwards (`finally`), so the tests after it see a migrated
database. The rows come from today's services (`tests.populated`)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor

from tests.populated import populate, row_counts

APPS = ("tasks", "content", "publishing")


def migrate_to(*targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))


def migrate_forward() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def ours_in_reverse_order() -> list[tuple[str, str]]:
    """Every migration of the three apps, the last applied first: the order going back one by one
    takes them in."""
    executor = MigrationExecutor(connection)
    leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] in APPS]
    plan = executor.migration_plan(leaves, clean_start=True)
    return [(migration.app_label, migration.name) for migration, _ in reversed(plan) if migration.app_label in APPS]


def previous(key: tuple[str, str]) -> tuple[str, str | None]:
    """The target that unapplies `key` alone: its parent in its own app, or the app's zero."""
    graph = MigrationExecutor(connection).loader.graph
    parents = [parent for parent in graph.node_map[key].parents if parent[0] == key[0]]
    return (key[0], parents[0][1] if parents else None)


def schema() -> dict:
    """Columns, constraints and indexes of every table, as PostgreSQL renders them."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, ''),
                   coalesce(character_maximum_length, 0)
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""")
        columns = cursor.fetchall()
        cursor.execute("""
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""")
        constraints = cursor.fetchall()
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                       "ORDER BY 1, 2")
        indexes = cursor.fetchall()
        cursor.execute("""
            SELECT event_object_table, trigger_name, action_statement FROM information_schema.triggers
            ORDER BY 1, 2""")
        triggers = cursor.fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes, "triggers": triggers}


def test_going_back_past_the_ping_event_keeps_every_real_delivery(transactional_db):
    """publishing 0014 let deliveries be `ping`s; its reverse put the old event check back over
    them, and PostgreSQL refused (`webhook_delivery_event_valid … is violated by some row`): no
    rollback of a release was possible once an admin had pinged a receiver."""
    from publishing.webhooks.models import WebhookDelivery

    populate()
    assert WebhookDelivery.objects.filter(event="ping").exists()
    real = set(WebhookDelivery.objects.exclude(event="ping").values_list("pk", flat=True))
    assert real
    try:
        migrate_to(("publishing", "0013_webhook_url_help"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, event FROM publishing_webhookdelivery")
            kept = dict(cursor.fetchall())
        assert set(kept) == real
        assert "ping" not in kept.values()
    finally:
        migrate_forward()
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == real


def test_going_back_before_revision_rounds_is_refused_while_the_history_needs_them(transactional_db):
    """tasks 0005's reverse put back checks the task history no longer fits (events of the kinds
    `approval` and `publication`, two checkpoints of one stage) and stopped on PostgreSQL's
    IntegrityError about a constraint, saying nothing of why or what to do."""
    from tasks.models import TaskEvent

    populate()
    events = TaskEvent.objects.count()
    try:
        with pytest.raises(IrreversibleError) as refused:
            migrate_to(("tasks", "0004_reconcile_schedule"))
        message = str(refused.value)
        assert "tasks.0005_revision_rounds_and_event_kinds cannot be reversed" in message
        assert "approval and publication" in message and "1 stages completed in more than one revision round" in message
        assert "Restore a backup" in message
    finally:
        migrate_forward()
    assert TaskEvent.objects.count() == events


def test_going_back_before_revision_rounds_without_such_history_works(transactional_db):
    """The refusal is about rows, not the migration: a database whose tasks never went through
    review goes back to tasks 0004 and forward again."""
    from tests.factories import submit_task
    from tests.seed import ensure_seed_data

    ensure_seed_data()
    submit_task(topic="Queued only")
    try:
        migrate_to(("tasks", "0004_reconcile_schedule"))
    finally:
        migrate_forward()
    from tasks.models import GenerationTask

    assert GenerationTask.objects.filter(topic="Queued only").exists()


@pytest.mark.slow
def test_every_migration_goes_back_one_by_one_to_zero_and_forward_again(transactional_db):
    """Over a populated database, every migration of the three apps is unapplied alone, the last
    first; each step either works or refuses on purpose (tasks 0005, while the history needs it).
    Forward again gives the same schema, and the rows the old tables could hold are all there."""
    populate()
    before, tables = schema(), row_counts()
    try:
        # Two days of releases back (to publishing 0010, tasks 0011, content 0005) and forward.
        kept = {"publishing": "0010", "tasks": "0011", "content": "0005"}
        for key in ours_in_reverse_order():
            if key[1][:4] > kept[key[0]]:
                migrate_to(previous(key))
        migrate_forward()
        assert schema() == before
        after = row_counts()
        # What the old tables could not hold, and only that, is gone (docs/reliability.md row 33).
        lost = {table: tables[table] - after[table] for table in tables if after[table] != tables[table]}
        assert lost == {
            "publishing_webhookdelivery": 1,  # the ping (publishing 0014)
            "publishing_pendingnotification": 1,  # the line about a switched-off subscription (0020)
            "publishing_slugredirect": 1,  # the old address (0018 made the table)
            "publishing_pruneddeliverytotals": 1, "tasks_removedtasktotals": 2,  # (0022, tasks 0015)
        }

        # Then all the way: refused at tasks 0005 while the history needs it, through once it does not.
        for key in ours_in_reverse_order():
            if key == ("tasks", "0005_revision_rounds_and_event_kinds"):
                with pytest.raises(IrreversibleError):
                    migrate_to(previous(key))
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM tasks_taskevent WHERE kind IN ('approval', 'publication')")
                    cursor.execute("DELETE FROM tasks_stagecheckpoint WHERE revision > 0")
            migrate_to(previous(key))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                           "AND tablename ~ '^(tasks|content|publishing)_'")
            assert cursor.fetchone()[0] == 0
    finally:
        migrate_forward()
    assert schema() == before
