import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from content.models import ApprovalEvent, ContentVersion
from tasks.exceptions import AppendOnlyViolation
from tests.factories import make_task, make_version

pytestmark = pytest.mark.django_db


def _raw(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_version_numbers_are_unique_per_task():
    task = make_task()
    make_version(task, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_version(task, number=1)
    make_version(make_task(), number=1)


@pytest.mark.parametrize("field, value", [("phase", "creative"), ("quality_score", 101), ("number", 0)])
def test_database_rejects_invalid_versions(field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_version(make_task(), **{field: value})


def test_versions_are_immutable_at_every_level():
    version = make_version(make_task(), body="original")
    version.body = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        version.save()
    with pytest.raises(AppendOnlyViolation):
        ContentVersion.objects.filter(pk=version.pk).update(body="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(f"UPDATE content_contentversion SET body = 'rewritten' WHERE id = '{version.pk}'")
    version.refresh_from_db()
    assert version.body == "original"


def test_versions_go_with_their_task_when_nothing_audits_them():
    task = make_task()
    make_version(task)
    task.delete()
    assert not ContentVersion.objects.exists()


def test_audit_trail_cannot_be_updated_or_deleted(reviewer):
    task = make_task()
    event = ApprovalEvent.objects.create(
        task=task, version=make_version(task), decision="rejected", actor=reviewer,
        feedback="Too vague", reasons=["quality", "sources"],
    )
    event.feedback = "Fine"
    with pytest.raises(AppendOnlyViolation):
        event.save()
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        ApprovalEvent.objects.filter(pk=event.pk).update(decision="approved")
    with pytest.raises(AppendOnlyViolation):
        ApprovalEvent.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(f"UPDATE content_approvalevent SET decision = 'approved' WHERE id = '{event.pk}'")
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(f"DELETE FROM content_approvalevent WHERE id = '{event.pk}'")
    event.refresh_from_db()
    assert (event.decision, event.feedback, event.reasons) == ("rejected", "Too vague", ["quality", "sources"])


def test_audited_task_and_version_cannot_be_deleted(reviewer):
    task = make_task()
    version = make_version(task)
    ApprovalEvent.objects.create(task=task, version=version, decision="approved", actor=reviewer)
    with pytest.raises(ProtectedError):
        task.delete()
    assert ContentVersion.objects.filter(pk=version.pk).exists()


def test_database_rejects_unknown_decisions(reviewer):
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalEvent.objects.create(task=make_task(), decision="maybe", actor=reviewer)
