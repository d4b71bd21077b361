"""Production settings: `check --deploy` is clean, and unsafe configurations refuse to start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "f3c9a1e0d7b24c6a8e5f1b3d9c7a2e4f6b8d0c1a3e5f7b9d2c4a6e8f0b1d3c5e7a9",
    "ALLOWED_HOSTS": "press.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://press.example.com",
    "PRESSROOM_SITE_URL": "https://press.example.com",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PRESSROOM_SITE_URL"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**clean, **env}, capture_output=True, text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_is_clean_behind_a_proxy_that_redirects_to_https():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        **PRODUCTION_ENV, SECURE_SSL_REDIRECT="0", SECURE_PROXY_SSL_HEADER="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_when_emails_and_webhooks_would_link_to_no_site():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "PRESSROOM_SITE_URL"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "(pressroom.W001) PRESSROOM_SITE_URL is not set" in result.stderr + result.stdout


@pytest.mark.parametrize("url", ["https://press.example.com/admin", "ftp://press.example.com", "press.example.com",
                                 "https://press.example.com/?q=1"])
def test_a_site_url_that_is_not_an_origin_stops_the_start(url):
    result = _manage("check", **PRODUCTION_ENV | {"PRESSROOM_SITE_URL": url})
    assert result.returncode != 0
    assert "PRESSROOM_SITE_URL must be an origin like https://pressroom.example.com" in result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_mode_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG=0" in result.stderr


def test_a_malformed_variable_is_reported_by_name():
    result = _manage("check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_demo_accounts_are_refused_in_production_mode():
    result = _manage("create_demo_accounts", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "only in development mode" in result.stderr


def test_the_postgres_channel_layer_is_built_when_redis_is_not_configured():
    code = "from channels.layers import get_channel_layer; print(type(get_channel_layer()).__name__)"
    result = _manage("shell", "-c", code, REDIS_URL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "PostgresChannelLayer"


def test_the_redis_pub_sub_channel_layer_is_built_when_redis_is_configured():
    """channels_redis's pub/sub layer: one PUBLISH per group message, no per-member receive loop
    (tasks/redis_layer.py); the list layer put the push p95 at 170-240 ms for 1,000 watchers."""
    code = "from channels.layers import get_channel_layer; l = get_channel_layer(); print(type(l).__mro__[1].__module__)"
    result = _manage("shell", "-c", code, REDIS_URL="redis://127.0.0.1:6399/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "channels_redis.pubsub"


@pytest.mark.parametrize(("value", "expected"), [
    ("", "True 5"),  # the default
    ("1", "True 5"),
    ("0", "None None"),  # behind a transaction-pooling PgBouncer older than 1.21
])
def test_prepared_statements_are_on_unless_turned_off(value, expected):
    code = ("from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']; "
            "print(o.get('server_side_binding'), o.get('prepare_threshold'))")
    env = {"DATABASE_PREPARED_STATEMENTS": value} if value else {}
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=BASE_DIR, env={**clean, **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_django_q2s_cluster_name_variable_is_refused_by_name():
    """django-q2 takes Q_CLUSTER_NAME (which `qcluster --help` recommends) for another queue's name,
    and without ALT_CLUSTERS failed with KeyError: 'ALT_CLUSTERS' in every command."""
    result = _manage("check", Q_CLUSTER_NAME="other-queue")
    assert result.returncode != 0
    assert "Q_CLUSTER_NAME is not supported: the task queue's name is PRESSROOM_QUEUE_NAME" in result.stderr
    assert "KeyError" not in result.stderr


def test_a_cluster_name_variable_equal_to_the_queue_name_changes_nothing():
    result = _manage("check", Q_CLUSTER_NAME="same-queue", PRESSROOM_QUEUE_NAME="same-queue")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["queue_status", "create_demo_accounts", "qcluster"])
def test_a_malformed_variable_stops_a_command_in_one_line_without_a_traceback(command):
    result = _manage(command, DEBUG="perhaps")
    assert result.returncode == 1
    assert result.stderr == "django.core.exceptions.ImproperlyConfigured: DEBUG must be a boolean (1/0, true/false, yes/no), got 'perhaps'.\n"


def test_the_traceback_option_shows_where_a_malformed_variable_was_read():
    result = _manage("queue_status", "--traceback", DEBUG="perhaps")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "config/env.py" in result.stderr


@pytest.mark.parametrize("module, reason", [
    ("no.such.module", "No module named 'no'"),
    ("config.nosuch", "No module named 'config.nosuch'"),
    ("config.settings.py", "No module named 'config.settings.py'; 'config.settings' is not a package"),
    (".settings", "a relative name (give the whole path, e.g. config.settings)"),
])
@pytest.mark.parametrize("named_by", ["--settings", "DJANGO_SETTINGS_MODULE"])
def test_a_settings_module_that_does_not_exist_is_one_line_naming_it(module, reason, named_by):
    """Before, Django's traceback of a ModuleNotFoundError (or importlib's TypeError) from deep in
    the command's parser."""
    if named_by == "--settings":
        result = _manage("check", f"--settings={module}")
    else:
        result = _manage("check", DJANGO_SETTINGS_MODULE=module)

    assert result.returncode == 1
    assert result.stderr == (f"ModuleNotFoundError: The settings module {module!r} (--settings or "
                             f"DJANGO_SETTINGS_MODULE) cannot be imported: {reason}.\n")


def test_a_settings_module_that_fails_to_import_another_says_which(tmp_path):
    """Not 'the settings module cannot be imported': it can, and its own import is what failed."""
    (tmp_path / "pressroom_broken_settings.py").write_text("from config.settings import *  # noqa\n"
                                                            "import pressroom_no_such_dependency  # noqa\n")
    result = _manage("check", DJANGO_SETTINGS_MODULE="pressroom_broken_settings",
                     PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))

    assert result.returncode == 1
    assert "The settings module" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "ModuleNotFoundError: No module named 'pressroom_no_such_dependency'"
    assert "pressroom_broken_settings.py" in result.stderr  # the traceback: where it was imported
