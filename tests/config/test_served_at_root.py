"""Gunicorn, as Pressroom starts it (scripts.supervisor.GUNICORN_OPTIONS), takes no SCRIPT_NAME or
PATH_INFO from a request, not even from a trusted proxy: the site is served at the root of its host
(Daphne's counterpart, the `Daphne-Root-Path` header: tests/config/test_daphne_guards.py)."""

from __future__ import annotations

import pytest

from tests.processes import GunicornServer, raw_get

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_script_name_header_from_a_trusted_proxy_moves_nothing(tmp_path):
    """The test's Gunicorn trusts 127.0.0.1 as a proxy (Gunicorn's default --forwarded-allow-ips).
    Before: `/evil/` answered 200 with its links under /evil/, and `/` answered 500."""
    server = GunicornServer(tmp_path, name="gunicorn-script-name", env={"ALLOWED_HOSTS": "127.0.0.1"})
    try:
        server.wait_until_ready()
        home = raw_get(server.port, "/", b"SCRIPT_NAME: /evil", b"PATH_INFO: /admin/")
        assert home.startswith(b"HTTP/1.1 200"), home[:300]
        assert b'href="/feeds/rss/"' in home and b"/evil/" not in home
        assert raw_get(server.port, "/evil/", b"SCRIPT_NAME: /evil").startswith(b"HTTP/1.1 404")
    finally:
        server.stop()
