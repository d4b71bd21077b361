"""Advisory locks (config/locks.py): held by the transaction that takes them, until it ends."""

from __future__ import annotations

import psycopg
import pytest
from django.db import transaction

from config.locks import KEYS, PUBLIC_NAMES, advisory_xact_lock
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
