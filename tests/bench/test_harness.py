"""The one production-mode environment every benchmark's processes run in (bench/harness.py)."""

from __future__ import annotations

import argparse

import pytest

from bench.harness import UNTHROTTLED_API, production_environment

URL = "postgresql://postgres@127.0.0.1:5432/pressroom_bench_x"


@pytest.fixture
def shell_environment(monkeypatch):
    """What a developer's shell may carry into a benchmark run."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DEBUG", "1")
    monkeypatch.setenv("ALLOWED_HOSTS", "*")
    monkeypatch.setenv("PATH_MARKER", "kept")


def test_production_environment_runs_in_production_mode_over_plain_http(shell_environment):
    env = production_environment(URL)

    assert env["DATABASE_URL"] == URL
    assert env["DEBUG"] == "0"
    assert env["ALLOWED_HOSTS"] == "127.0.0.1"
    assert env["SECURE_SSL_REDIRECT"] == "0"
    assert len(env["SECRET_KEY"]) >= 50
    assert "REDIS_URL" not in env
    assert env["PATH_MARKER"] == "kept"


def test_production_environment_leaves_the_callers_environment_alone(shell_environment):
    import os

    production_environment(URL)

    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert os.environ["DEBUG"] == "1"


def test_production_environment_overrides_come_last(shell_environment):
    env = production_environment(URL, ALLOWED_HOSTS="testserver", REDIS_URL="redis://127.0.0.1:6379/5")

    assert env["ALLOWED_HOSTS"] == "testserver"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/5"


def test_every_production_environment_has_a_secret_key_of_its_own():
    assert production_environment(URL)["SECRET_KEY"] != production_environment(URL)["SECRET_KEY"]


def test_the_process_benchmarks_build_their_environment_on_it(shell_environment, tmp_path):
    from bench.blog_pages import environment as blog_environment
    from bench.engine_throughput import base_environment as engine_environment
    from bench.websocket_fanout import base_environment as websocket_environment

    args = argparse.Namespace(workers=2, tasks=10, stage_seconds=0.5, clients=1000)
    environments = [
        engine_environment(database_url=URL, args=args, password="secret"),
        websocket_environment(URL, args),
        blog_environment(URL, str(tmp_path), cache_seconds=0),
    ]

    for env in environments:
        assert (env["DEBUG"], env["ALLOWED_HOSTS"], env["SECURE_SSL_REDIRECT"]) == ("0", "127.0.0.1", "0")
        assert "REDIS_URL" not in env
    assert [env["DJANGO_SETTINGS_MODULE"] for env in environments] == [
        "bench.settings", "bench.ws_settings", "bench.blog_settings",
    ]
    for env in environments[:2]:  # the two that load the API
        assert {key: env[key] for key in UNTHROTTLED_API} == UNTHROTTLED_API


def test_a_database_whose_name_does_not_say_bench_is_refused_before_anything_runs():
    from bench.engine_throughput import parse_args
    from bench.harness import BenchError, reset_tables

    with pytest.raises(SystemExit) as refused:
        parse_args(["--database-name", "pressroom"])
    assert refused.value.code == 2
    assert parse_args(["--database-name", "pressroom_bench_other"]).database_name == "pressroom_bench_other"
    with pytest.raises(BenchError, match="not a benchmark database"):
        reset_tables("postgresql://postgres@127.0.0.1:1/pressroom")


def test_the_fan_out_benchmark_lets_its_one_editor_open_every_client():
    from bench.websocket_fanout import base_environment as websocket_environment

    args = argparse.Namespace(workers=2, tasks=10, stage_seconds=0.5, clients=1000)
    assert websocket_environment(URL, args)["PRESSROOM_WS_MAX_SOCKETS_PER_USER"] == "1000"
