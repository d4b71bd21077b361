"""Create the demo accounts `editor`, `reviewer` and `admin` (development only).

Each gets a random password, printed once and stored only as a hash. Running it again leaves
existing accounts alone; `--reset` gives them new passwords.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from publishing.roles import EDITORS, REVIEWERS

DEMO_ACCOUNTS = [
    # username, group, superuser
    ("editor", EDITORS, False),
    ("reviewer", REVIEWERS, False),
    ("admin", None, True),
]


class Command(BaseCommand):
    help = "Create the demo accounts editor, reviewer and admin with random passwords (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Give existing demo accounts new passwords.")

    @transaction.atomic
    def handle(self, *args, reset: bool = False, **options):
        if not settings.DEBUG:
            raise CommandError("Demo accounts exist only in development mode (DEBUG=1); none were created.")
        User = get_user_model()
        created_lines = []
        for username, group_name, superuser in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is not None and not reset:
                self.stdout.write(f"Demo account {username!r} exists; its password is unchanged.")
                continue
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User(username=username, email=f"{username}@example.invalid")
            user.is_staff = True
            user.is_superuser = superuser
            user.set_password(password)
            user.save()
            if group_name:
                user.groups.add(Group.objects.get(name=group_name))
            created_lines.append(f"  {username:<9} {password}")
        if created_lines:
            self.stdout.write("Demo logins (shown once; stored hashed):")
            self.stdout.write("\n".join(created_lines))
