"""A category's slug changed by two people at once: each address it had stays a redirect."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from publishing.models import Category, SlugRedirect
from publishing.services.posts import public_name_save_by_person


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_two_slug_changes_of_one_category_at_once_leave_a_redirect_from_each_address_it_had():
    """Both forms loaded the category at /gardening/. The first moves it to /garden/ and holds its
    transaction; the second, moving it to /gardens/, waits, then must see that the category was at
    /garden/ (for a moment, on the blog). Before, the second read the slug before waiting and
    recorded /gardening/ again, so /garden/ answered 404 instead of redirecting."""
    Category.objects.create(name="Gardening", slug="gardening")
    first_form, second_form = Category.objects.get(), Category.objects.get()
    first_form.slug, second_form.slug = "garden", "gardens"
    ready = threading.Event()
    pid, outcome = [], []

    def second():
        try:
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            ready.wait(timeout=10)
            public_name_save_by_person(second_form, changed={"slug"}, adding=False)
            outcome.append("saved")
        except Exception as error:  # noqa: BLE001 - the test reports whatever happened
            outcome.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=second)
    with transaction.atomic():
        public_name_save_by_person(first_form, changed={"slug"}, adding=False)
        other.start()
        ready.set()
        for _ in range(1000):  # at most 10 s: until the second save waits for the first
            other.join(0.01)
            if not other.is_alive() or (pid and _waiting_on_a_lock(pid[0])):
                break
    other.join(30)

    assert not other.is_alive()
    assert outcome == ["saved"]
    category = Category.objects.get()
    assert category.slug == "gardens"
    assert sorted(SlugRedirect.objects.filter(category=category).values_list("slug", flat=True)) == [
        "garden", "gardening"]
