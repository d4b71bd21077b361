"""Databases that applied a publishing migration in its first form, before a later commit edited
it, get what the edit added: the webhooks' minute sweep (0008 before 32caa73; migration 0023) and
the slug-redirect permissions of the editorial groups (0018 before 0df014a; migration 0024)."""

from __future__ import annotations

import pytest

from publishing.roles import EDITORS, REVIEWERS
from tests.seed import ensure_seed_data
from tests.upgrades import database_at, migrate_to

SWEEP = "pressroom-webhooks-recover"


def test_a_database_whose_0008_scheduled_no_sweep_has_it_after_migrate(transactional_db):
    with database_at(("publishing", "0022_pruned_delivery_totals")) as old:
        old.get_model("django_q", "Schedule").objects.filter(name=SWEEP).delete()  # 0008 as of 3b6a7e2
        migrate_to()
        from django_q.models import Schedule

        sweep = Schedule.objects.get(name=SWEEP)
        assert (sweep.func, sweep.schedule_type, sweep.minutes, sweep.repeats) == (
            "publishing.webhooks.jobs.recover", "I", 1, -1)


def test_a_sweep_an_operator_changed_is_left_as_it_is(transactional_db):
    with database_at(("publishing", "0022_pruned_delivery_totals")) as old:
        Schedule = old.get_model("django_q", "Schedule")
        Schedule.objects.update_or_create(name=SWEEP, defaults={
            "func": "publishing.webhooks.jobs.recover", "schedule_type": "I", "minutes": 5, "repeats": -1})
        migrate_to()
        from django_q.models import Schedule

        assert Schedule.objects.get(name=SWEEP).minutes == 5


def _codenames(group_name: str) -> set[str]:
    from django.contrib.auth.models import Group

    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def test_groups_whose_0018_gave_no_slug_redirect_permissions_have_them_after_migrate(transactional_db):
    ensure_seed_data()  # an earlier transactional test's flush may have removed the groups
    with database_at(("publishing", "0022_pruned_delivery_totals")) as old:
        Group = old.get_model("auth", "Group")
        for name in (EDITORS, REVIEWERS):  # 0018 as of 9ca28cf synced no group
            group = Group.objects.get(name=name)
            group.permissions.remove(*group.permissions.filter(codename__endswith="_slugredirect"))
        extra = old.get_model("auth", "Permission").objects.get(codename="view_logentry")
        Group.objects.get(name=EDITORS).permissions.add(extra)  # an operator's own addition
        migrate_to()

        assert {"view_slugredirect", "view_logentry"} <= _codenames(EDITORS)
        assert {"view_slugredirect", "delete_slugredirect"} <= _codenames(REVIEWERS)
