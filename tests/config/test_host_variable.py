"""HOST, the address `make run`, `make serve` and `make serve-workers` listen on (config.env.env_host):
an IP address or a host name, and an empty value is the default, never every interface."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_host
from tests.config.test_settings import BASE_DIR, PRODUCTION_ENV


@pytest.mark.parametrize(("raw", "host"), [
    ("", "127.0.0.1"),  # `HOST= make serve` passed `--bind :8000` to Gunicorn: every interface
    ("  ", "127.0.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    (" ::1 ", "::1"),
    ("[::1]", "::1"),  # as written in a URL
    ("press-1.example.com", "press-1.example.com"),
])
def test_a_listening_address_is_kept_and_an_empty_one_is_the_default(monkeypatch, raw, host):
    monkeypatch.setenv("HOST", raw)
    assert env_host("HOST", "127.0.0.1") == host


@pytest.mark.parametrize("raw", ["0.0.0.0:8000", "bad host", "-b", "évil.example", "a" * 254, "http://localhost"])
def test_anything_else_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("HOST", raw)
    with pytest.raises(ImproperlyConfigured, match=r"^HOST must be an IP address or a host name to listen on, got "):
        env_host("HOST", "127.0.0.1")


@pytest.mark.parametrize("script", ["serve.py", "serve_production.py", "serve_workers.py"])
def test_each_server_script_refuses_a_host_it_cannot_listen_on_before_starting_anything(script):
    env = {**os.environ, **PRODUCTION_ENV, "HOST": "0.0.0.0:8000",
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/never"}
    if script == "serve.py":
        env["DEBUG"] = "1"

    result = subprocess.run([sys.executable, f"scripts/{script}"], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=120)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "serve: HOST must be an IP address or a host name to listen on, got '0.0.0.0:8000'.")
