"""Passwords: production hashes them slowly on purpose; only the test settings trade that for speed."""

import importlib

from django.conf import global_settings
from django.contrib.auth.hashers import get_hasher
from django.utils.module_loading import import_string

SLOW_ALGORITHMS = {"pbkdf2_sha256", "argon2", "scrypt", "bcrypt_sha256"}


def _new_password_algorithm(settings_module: str) -> str:
    """The algorithm a settings module hashes new passwords with (Django uses the first hasher)."""
    module = importlib.import_module(settings_module)
    hashers = getattr(module, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    return import_string(hashers[0])().algorithm


def test_production_settings_hash_passwords_with_a_slow_hasher():
    assert _new_password_algorithm("config.settings") in SLOW_ALGORITHMS


def test_the_tests_and_the_processes_they_start_hash_passwords_fast():
    assert _new_password_algorithm("tests.settings") == "md5"
    assert _new_password_algorithm("tests.cluster_settings") == "md5"
    assert get_hasher().algorithm == "md5"
