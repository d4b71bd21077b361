"""config.rows.insert_row: a new row inserted as `save()` inserts it, by an INSERT written once."""

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.signals import post_save, pre_save
from django.forms.models import model_to_dict

from config.rows import insert_row, insert_rows
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tests.clocks import database_now

pytestmark = pytest.mark.django_db
AVAILABLE_AT = datetime(2026, 12, 1, 8, 0, tzinfo=dt_timezone.utc)


def _task(editor, **fields) -> GenerationTask:
    return GenerationTask(
        topic="Rows", title="Inserted", created_by=editor, model=ModelCatalogEntry.objects.get(is_default=True),
        tags=["a", "b"], metadata={"research": {"text": "notes"}}, available_at=AVAILABLE_AT, queued_at=AVAILABLE_AT,
        **fields,
    )


def _stored(task: GenerationTask) -> dict:
    values = model_to_dict(GenerationTask.objects.get(pk=task.pk))
    return {name: value for name, value in values.items() if name not in {"id", "created_at", "updated_at"}}


def test_a_task_is_stored_exactly_as_save_stores_it(editor):
    by_save, by_insert = _task(editor), _task(editor)
    by_save.save(force_insert=True)

    inserted = insert_row(by_insert)

    assert inserted is by_insert
    assert _stored(by_insert) == _stored(by_save)
    stored = GenerationTask.objects.get(pk=by_insert.pk)
    assert stored.created_at == by_insert.created_at and stored.updated_at == by_insert.updated_at  # auto_now(_add)
    assert by_insert._state.adding is False and by_insert._state.db == "default"


def test_a_database_default_left_to_the_database_is_its_and_read_back_as_save_reads_it(editor):
    """`available_at` defaults to the database server's now: not given, both ways store that
    time and give it to the instance; given, both store it as given, in one statement text."""
    by_save, by_insert = _task(editor), _task(editor)
    for task in (by_save, by_insert):  # as a task built without it has it
        task.available_at = GenerationTask._meta.get_field("available_at").get_default()
    by_save.save(force_insert=True)
    insert_row(by_insert)

    for task in (by_save, by_insert):
        assert abs((task.available_at - database_now()).total_seconds()) < 5
        assert GenerationTask.objects.get(pk=task.pk).available_at == task.available_at
    assert insert_row(_task(editor)).available_at == AVAILABLE_AT


def test_the_pk_the_database_makes_is_read_back():
    group = insert_row(Group(name="Inserted by SQL"))

    assert group.pk is not None
    assert Group.objects.get(pk=group.pk).name == "Inserted by SQL"


def test_the_save_signals_are_sent_as_save_sends_them(editor):
    seen = []

    def before(sender, instance, raw, using, update_fields, **kwargs):
        seen.append(("pre", instance._state.adding, raw, using, update_fields))

    def after(sender, instance, created, raw, using, update_fields, **kwargs):
        seen.append(("post", instance._state.adding, created, raw, using, update_fields))

    pre_save.connect(before, sender=GenerationTask)
    post_save.connect(after, sender=GenerationTask)
    try:
        insert_row(_task(editor))
    finally:
        pre_save.disconnect(before, sender=GenerationTask)
        post_save.disconnect(after, sender=GenerationTask)

    assert seen == [("pre", True, False, "default", None), ("post", False, True, False, "default", None)]


def test_what_a_pre_save_receiver_changes_is_stored_as_save_stores_it(editor):
    def retitle(sender, instance, **kwargs):
        instance.title = "Changed by a receiver"

    pre_save.connect(retitle, sender=GenerationTask)
    try:
        task = insert_row(_task(editor))
    finally:
        pre_save.disconnect(retitle, sender=GenerationTask)

    assert GenerationTask.objects.get(pk=task.pk).title == "Changed by a receiver"


def test_a_value_that_is_an_expression_is_inserted_through_save(editor):
    task = _task(editor)
    task.word_count = Value(800)

    insert_row(task)

    assert GenerationTask.objects.get(pk=task.pk).word_count == 800


def test_a_duplicate_raises_the_orms_integrity_error_and_stores_nothing(editor):
    insert_row(Group(name="Twice"))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(Group(name="Twice"))

    assert Group.objects.filter(name="Twice").count() == 1


def test_an_unsaved_related_object_is_refused_as_save_refuses_it(editor):
    task = _task(editor)
    task.created_by = get_user_model()(username="unsaved")

    with pytest.raises(ValueError, match="unsaved related object"):
        insert_row(task)


def test_a_model_with_a_save_of_its_own_is_refused(editor):
    with pytest.raises(TypeError, match="use save"):
        insert_row(TaskEvent(sequence=1, kind="created", status="queued", message="x"))


def test_rows_are_inserted_together_as_bulk_create_inserts_them(editor):
    task = insert_row(_task(editor))
    drafts = [TaskEvent(task_id=task.pk, sequence=number, kind="log", status="queued", message=f"line {number}",
                        data={"n": number}, created_at=AVAILABLE_AT) for number in (1, 2, 3)]

    inserted = insert_rows(drafts)

    assert inserted is drafts and all(event.pk and not event._state.adding for event in drafts)
    stored = list(TaskEvent.objects.filter(task=task).order_by("sequence").values_list("pk", "message", "data"))
    assert stored == [(event.pk, event.message, event.data) for event in drafts]


def test_rows_inserted_together_send_no_save_signals(editor):
    seen = []

    def before(sender, **kwargs):
        seen.append(sender)

    pre_save.connect(before, sender=Group)
    try:
        insert_rows([Group(name="One"), Group(name="Two")])
    finally:
        pre_save.disconnect(before, sender=Group)

    assert seen == [] and Group.objects.filter(name__in=["One", "Two"]).count() == 2


def test_add_to_totals_inserts_a_key_seen_first_and_adds_to_one_seen_before(django_assert_num_queries):
    from config.rows import add_to_totals
    from publishing.webhooks.models import PrunedDeliveryTotals

    with django_assert_num_queries(1):
        add_to_totals(PrunedDeliveryTotals, ("event", "status"), ("attempts",),
                      [("task.completed", "failed", 3), ("task.failed", "succeeded", 1)])
    add_to_totals(PrunedDeliveryTotals, ("event", "status"), ("attempts",), [("task.completed", "failed", 2)])
    with django_assert_num_queries(0):
        add_to_totals(PrunedDeliveryTotals, ("event", "status"), ("attempts",), [])

    assert sorted(PrunedDeliveryTotals.objects.values_list("event", "status", "attempts")) == [
        ("task.completed", "failed", 5), ("task.failed", "succeeded", 1)]
