"""`manage.py create_demo_accounts`: the three demo logins, made once, reset on request, and never
made out of somebody's own account (publishing/management/commands/create_demo_accounts.py)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_user
from tests import processes
from tests.races import run_while_holding
from tests.seed import ensure_seed_data

DEMO_NAMES = ["editor", "reviewer", "admin"]


@pytest.fixture(autouse=True)
def _development_mode(settings):
    settings.DEBUG = True


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_demo_accounts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _hashes() -> dict[str, str]:
    return dict(get_user_model().objects.filter(username__in=DEMO_NAMES).values_list("username", "password"))


@pytest.mark.django_db
def test_the_demo_accounts_are_made_with_their_roles_and_an_address_under_example_invalid():
    ensure_seed_data()
    out, _ = _run()
    users = {user.username: user for user in get_user_model().objects.filter(username__in=DEMO_NAMES)}
    assert set(users) == set(DEMO_NAMES)
    assert all(user.email == f"{name}@example.invalid" and user.is_staff for name, user in users.items())
    assert users["admin"].is_superuser and not users["editor"].is_superuser
    assert list(users["editor"].groups.values_list("name", flat=True)) == ["Editors"]
    assert list(users["reviewer"].groups.values_list("name", flat=True)) == ["Reviewers"]
    assert "Demo logins (shown once; stored hashed):" in out


@pytest.mark.django_db(transaction=True)
def test_a_second_run_at_the_same_time_waits_and_finds_the_accounts_the_first_made():
    """Before, both runs saw no `editor` and both inserted one: the second failed with an
    IntegrityError traceback."""
    ensure_seed_data()
    outcome = run_while_holding(lambda: _run(), lambda: _run())

    assert isinstance(outcome, tuple), outcome
    out, _ = outcome
    assert "Demo account 'editor' exists; its password is unchanged." in out
    assert "Demo logins" not in out
    assert get_user_model().objects.filter(username__in=DEMO_NAMES).count() == 3


@pytest.mark.django_db
def test_somebodys_own_account_named_admin_is_not_reset_and_the_demo_accounts_are():
    """A database copied from production has a real `admin`. Before, `--reset` gave it a new
    password (locking its owner out) and printed it."""
    ensure_seed_data()
    real = make_user("admin", is_superuser=True)
    get_user_model().objects.filter(pk=real.pk).update(email="ops@press.example.com")
    _run()
    before = _hashes()

    with pytest.raises(CommandError, match=r"Not reset: 'admin', somebody's own account .* left unchanged"):
        _run("--reset")

    after = _hashes()
    assert after["admin"] == before["admin"]
    assert after["editor"] != before["editor"] and after["reviewer"] != before["reviewer"]
    real.refresh_from_db()
    assert real.email == "ops@press.example.com" and real.is_superuser


@pytest.mark.django_db
def test_somebodys_own_account_named_editor_is_left_as_it_is_and_said_so():
    ensure_seed_data()
    person = get_user_model().objects.create_user(username="editor", email="ed@press.example.com", password="x" * 20)

    out, err = _run()

    assert "A user named 'editor' exists and is not a demo account" in err
    person.refresh_from_db()
    assert not person.is_staff and not person.groups.exists()
    assert "  editor " not in out and "  reviewer " in out


@pytest.mark.django_db
def test_reset_gives_a_demo_account_its_role_back():
    ensure_seed_data()
    _run()
    get_user_model().objects.filter(username="editor").update(is_active=False, is_staff=False, is_superuser=True)
    editor = get_user_model().objects.get(username="editor")
    editor.groups.add(Group.objects.get(name="Reviewers"))
    editor.user_permissions.add(Permission.objects.get(codename="publish_post"))

    _run("--reset")

    editor = get_user_model().objects.get(username="editor")
    assert editor.is_active and editor.is_staff and not editor.is_superuser
    assert list(editor.groups.values_list("name", flat=True)) == ["Editors"]
    assert not editor.user_permissions.exists()


@pytest.mark.django_db
def test_a_missing_role_group_is_reported_and_no_account_is_made():
    ensure_seed_data()
    Group.objects.filter(name="Reviewers").delete()

    with pytest.raises(CommandError, match=r"The group 'Reviewers' is missing .*manage.py migrate"):
        _run()

    assert not get_user_model().objects.filter(username__in=DEMO_NAMES).exists()


class _ClosedPipe(io.StringIO):
    """Buffered output whose reader is gone: the error shows only when it is flushed."""

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.django_db
def test_new_passwords_that_cannot_be_shown_are_not_stored():
    """Before, the accounts were committed first and the buffered output failed at exit: `--reset`
    into a closed pipe replaced every password with one nobody saw."""
    ensure_seed_data()
    _run()
    before = _hashes()

    with pytest.raises(CommandError, match="The new passwords could not be written .*no account was changed"):
        call_command("create_demo_accounts", "--reset", stdout=_ClosedPipe(), stderr=io.StringIO())

    assert _hashes() == before


@pytest.mark.django_db(transaction=True)
def test_reset_into_a_closed_pipe_says_so_in_one_line_and_changes_nothing():
    ensure_seed_data()
    _run()
    before = _hashes()
    env = {**os.environ, "DATABASE_URL": processes.test_database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings", "DEBUG": "1"}
    env.pop("PYTHONUNBUFFERED", None)
    reader_gone = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    reader_gone.wait()
    result = subprocess.run([sys.executable, "manage.py", "create_demo_accounts", "--reset"], cwd=processes.BASE_DIR, env=env,
                            stdout=reader_gone.stdin, stderr=subprocess.PIPE, text=True, timeout=120)
    reader_gone.stdin.close()

    assert result.returncode == 1
    assert result.stderr.startswith("CommandError: The new passwords could not be written"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _hashes() == before


@pytest.mark.django_db
def test_reset_lifts_a_demo_accounts_login_lockout_and_no_one_elses(settings):
    """After too many wrong passwords the demo login was locked out, and `make demo-passwords`
    printed a new password the login page still refused."""
    ensure_seed_data()
    _run()
    for username in ("admin", "someone"):
        AccessAttempt.objects.create(username=username, ip_address="127.0.0.1", user_agent="x", get_data="",
                                     post_data="", http_accept="", path_info="/admin/login/",
                                     failures_since_start=settings.AXES_FAILURE_LIMIT)

    _run("--reset")

    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["someone"]
