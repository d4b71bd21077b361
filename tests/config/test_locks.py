"""Advisory locks and kept rows (config/locks.py): held by the transaction that takes them, until it ends."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from config.locks import KEYS, PUBLIC_NAMES, advisory_xact_lock, rows_kept, rows_kept_with, rows_locked_to_delete
from tests import processes

pytestmark = pytest.mark.django_db(transaction=True)


def other_session_gets(namespace: int, key: int) -> bool:
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        return other.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [namespace, key]).fetchone()[0]


def test_the_lock_is_held_until_the_transaction_ends():
    with transaction.atomic():
        advisory_xact_lock(PUBLIC_NAMES)
        assert other_session_gets(PUBLIC_NAMES, 0) is False
    assert other_session_gets(PUBLIC_NAMES, 0) is True


def test_a_key_past_int4_is_folded_into_its_range():
    with transaction.atomic():
        advisory_xact_lock(PUBLIC_NAMES, KEYS + 7)
        assert other_session_gets(PUBLIC_NAMES, 7) is False
        assert other_session_gets(PUBLIC_NAMES, 8) is True


def test_outside_a_transaction_it_is_refused_rather_than_released_at_once():
    with pytest.raises(transaction.TransactionManagementError):
        advisory_xact_lock(PUBLIC_NAMES)


def other_session_deletes_user(pk: int) -> bool:
    """Whether another session can delete the account now (False: it would have to wait)."""
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        other.execute("SET lock_timeout = '200ms'")
        try:
            return other.execute(f"DELETE FROM {get_user_model()._meta.db_table} WHERE id = %s", [pk]).rowcount == 1
        except psycopg.errors.LockNotAvailable:
            return False


def other_session_renames_user(pk: int) -> bool:
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        other.execute("SET lock_timeout = '200ms'")
        return other.execute(f"UPDATE {get_user_model()._meta.db_table} SET first_name = 'Renamed' WHERE id = %s",
                             [pk]).rowcount == 1


def test_rows_kept_says_which_rows_exist_and_keeps_them_from_deletion_until_the_transaction_ends():
    User = get_user_model()
    kept = User.objects.create_user("kept")
    gone = User.objects.create_user("gone")
    gone_id = gone.pk
    gone.delete()
    with transaction.atomic():
        assert rows_kept((User, kept.pk), (User, gone_id)) == (True, False)
        assert other_session_renames_user(kept.pk) is True  # an update of its other fields does not wait
        assert other_session_deletes_user(kept.pk) is False
    assert other_session_deletes_user(kept.pk) is True


def test_rows_kept_with_reads_one_more_value_in_the_same_statement(django_assert_num_queries):
    User = get_user_model()
    kept = User.objects.create_user("kept", first_name="Ada")
    with transaction.atomic(), django_assert_num_queries(1):
        found = rows_kept_with(f"SELECT first_name FROM {User._meta.db_table} WHERE id = %s", [kept.pk],
                               (User, kept.pk), (User, kept.pk + 1000))
    assert found == ((True, False), "Ada")


def test_rows_kept_outside_a_transaction_is_refused_rather_than_released_at_once():
    with pytest.raises(transaction.TransactionManagementError):
        rows_kept((get_user_model(), 1))


def other_session_keeps_user(pk: int) -> bool:
    """Whether another session can keep the account from deletion now, as a writer naming it does
    (False: it would have to wait)."""
    with psycopg.connect(processes.test_database_url(), autocommit=True) as other:
        other.execute("SET lock_timeout = '200ms'")
        try:
            other.execute(f"SELECT 1 FROM {get_user_model()._meta.db_table} WHERE id = %s FOR KEY SHARE", [pk])
            return True
        except psycopg.errors.LockNotAvailable:
            return False


def test_rows_locked_to_delete_answers_the_rows_still_there_in_key_order_and_holds_off_writers_naming_them():
    User = get_user_model()
    first, second, gone = (User.objects.create_user(name) for name in ("first", "second", "gone"))
    gone_id = gone.pk
    gone.delete()
    with transaction.atomic():
        locked = rows_locked_to_delete(User.objects.filter(pk__in=[second.pk, gone_id, first.pk]))
        assert locked == [first.pk, second.pk]
        assert other_session_keeps_user(first.pk) is False
    assert other_session_keeps_user(first.pk) is True


def test_rows_locked_to_delete_outside_a_transaction_is_refused_rather_than_released_at_once():
    with pytest.raises(transaction.TransactionManagementError):
        rows_locked_to_delete(get_user_model().objects.all())
