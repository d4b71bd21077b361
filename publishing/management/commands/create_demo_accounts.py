"""Create the demo accounts `editor`, `reviewer` and `admin` (development only).

Each gets a random password, printed once and stored only as a hash. Running it again leaves
existing accounts alone; `--reset` gives them new passwords and their demo roles back: active,
staff, in their group and no other, no permissions of their own, superuser only for `admin`, and
no login lockout (django-axes' failed attempts for the name are forgotten; its failure log stays).

A demo account is one whose address is `<name>@example.invalid`, as this command made it: no
person can own an address under `.invalid` (RFC 2606). A user of the same name with any other
address is somebody's own account, perhaps copied from a production database: it is never
changed, and no demo account is made in its place.

The passwords are written, and the output flushed, before the accounts are committed: when they
cannot be shown (a closed pipe), nothing is changed. Two runs at once take turns, so the second
finds the accounts the first made.

Exit status: 0 when every demo account exists or was made (with `--reset`: was given a new
password), or was left alone because it is somebody's own account and `--reset` was not given;
1 with a one-line message when nothing was changed (DEBUG off, the database unusable or not
migrated, a role's group missing, the passwords not shown), or when `--reset` passed over
somebody's own account (the other accounts' new passwords are printed and valid); 2 for an
unknown option; 130 after Ctrl-C (nothing changed).
"""

from __future__ import annotations

import secrets

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from config.locks import DEMO_ACCOUNTS as DEMO_ACCOUNTS_LOCK
from config.locks import advisory_xact_lock
from config.management.operator_errors import (
    MIGRATE_HINT,
    OperatorErrorsMixin,
    database_command_error,
    silence_closed_stdout,
)
from publishing.roles import EDITORS, REVIEWERS

DEMO_ACCOUNTS = [
    # username, group, superuser
    ("editor", EDITORS, False),
    ("reviewer", REVIEWERS, False),
    ("admin", None, True),
]
DEMO_DOMAIN = "example.invalid"


def demo_address(username: str) -> str:
    return f"{username}@{DEMO_DOMAIN}"


def is_demo_account(user) -> bool:
    return (user.email or "").strip().lower() == demo_address(user.get_username()).lower()


class Command(OperatorErrorsMixin, BaseCommand):
    help = (
        "Create the demo accounts editor, reviewer and admin with random passwords (DEBUG only). "
        f"A user of one of those names whose address is not <name>@{DEMO_DOMAIN} is left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Give existing demo accounts new passwords and their demo roles back.")

    def handle(self, *args, reset: bool = False, **options):
        if not settings.DEBUG:
            raise CommandError("Demo accounts exist only in development mode (DEBUG=1); none were created.")
        shown = False
        try:
            with transaction.atomic():
                advisory_xact_lock(DEMO_ACCOUNTS_LOCK)  # a second run waits, then finds these accounts
                groups = _role_groups()
                logins, passed_over = self._create_or_reset(groups, reset=reset)
                self._show(logins)
                shown = bool(logins)
        except DatabaseError as error:
            if not shown:
                raise
            command_error = database_command_error(error)
            reason = command_error or error
            raise CommandError(f"The passwords printed above were not stored ({reason}); "
                               "no account was changed.") from error
        if passed_over and reset:
            names = ", ".join(repr(name) for name in passed_over)
            raise CommandError(f"Not reset: {names}, somebody's own account (its address is not "
                               f"<name>@{DEMO_DOMAIN}); it was left unchanged.")

    def _create_or_reset(self, groups: dict[str, Group], *, reset: bool) -> tuple[list[str], list[str]]:
        User = get_user_model()
        logins, passed_over = [], []
        for username, group_name, superuser in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is not None and not is_demo_account(user):
                self.stderr.write(f"A user named {username!r} exists and is not a demo account (its address is not "
                                  f"{demo_address(username)}): it was left alone, and no demo {username!r} was made.")
                passed_over.append(username)
                continue
            if user is not None and not reset:
                self.stdout.write(f"Demo account {username!r} exists; its password is unchanged.")
                continue
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User(username=username, email=demo_address(username))
            user.is_active = True
            user.is_staff = True
            user.is_superuser = superuser
            user.set_password(password)
            user.save()
            user.groups.set([groups[group_name]] if group_name else [])
            user.user_permissions.clear()
            AccessAttempt.objects.filter(username=username).delete()  # a lockout would refuse the new password
            logins.append(f"  {username:<9} {password}")
        return logins, passed_over

    def _show(self, logins: list[str]) -> None:
        """Write the new logins and flush them, inside the transaction that stores them: a
        password nobody saw is never stored."""
        if not logins:
            return
        try:
            self.stdout.write("Demo logins (shown once; stored hashed):")
            self.stdout.write("\n".join(logins))
            self.stdout.flush()
        except OSError as error:  # a closed pipe, a full disk
            if isinstance(error, BrokenPipeError):
                silence_closed_stdout()
            raise CommandError(f"The new passwords could not be written ({error.strerror or error}); "
                               "no account was changed.") from error


def _role_groups() -> dict[str, Group]:
    names = [group for _, group, _ in DEMO_ACCOUNTS if group]
    groups = {group.name: group for group in Group.objects.filter(name__in=names)}
    missing = [name for name in names if name not in groups]
    if missing:
        raise CommandError(f"The group {missing[0]!r} is missing (publishing's migrations create it: "
                           f"{MIGRATE_HINT}); no account was created or changed.")
    return groups
