"""The migrations describe the models: a model changed without its migration would pass every test
(pytest-django builds the test database from the migrations, so the tests would run on the old
schema only where it differs) and then fail, or silently differ, on a user's database."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=1, stdout=out, stderr=out)
    except SystemExit as exit_:
        pytest.fail(f"Models differ from their migrations (run `python manage.py makemigrations`):\n"
                    f"{out.getvalue()} (exit status {exit_.code})")
