"""While PostgreSQL is away every surface answers 503 with Retry-After in its own format, and the
log gets one line per request (config/outages.py).

The outage is a real connection that fails: the test's connection points at a port where no
PostgreSQL listens (`stopped_database`), as a stopped server. Before, every one of these answered
500 with the blog's "Something went wrong" page, the API's JSON clients included, and logged a
traceback each.
"""

from __future__ import annotations

import logging
import sys
import uuid

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from rest_framework_simplejwt.tokens import AccessToken

from config.outages import OUTAGE_RETRY_AFTER_SECONDS, server_error
from tests.conftest import database_stopped

pytestmark = pytest.mark.django_db(transaction=True)

# Fresh addresses and queries: a page the blog's cache still holds is served from it, outage or not.
PAGES = ["/?page=2", "/posts/{fresh}/", "/search/?q={fresh}", "/feeds/atom/?{fresh}", "/sitemap.xml?p=7",
         "/category/{fresh}/"]
API = [("get", "/api/posts?page=3"), ("get", "/api/posts/search?q={fresh}"), ("get", "/api/tasks"),
       ("get", "/api/auth/me"), ("post", "/api/tasks"), ("post", "/api/auth/token")]


def _fresh() -> str:
    """A word nobody asked for yet (letters only: search ignores what has digits)."""
    return "".join(chr(ord("a") + int(digit, 16)) for digit in uuid.uuid4().hex[:12])


def _unavailable(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(OUTAGE_RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"


def _html_page(response) -> str:
    _unavailable(response)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Briefly unavailable · Pressroom</title>" in page
    assert "Traceback" not in page and "127.0.0.1" not in page
    return page


@pytest.mark.parametrize("path", PAGES)
def test_a_blog_or_admin_page_is_a_503_page_while_the_database_is_away(stopped_database, path):
    _html_page(Client().get(path.format(fresh=_fresh())))


@pytest.mark.parametrize(("method", "path"), API)
def test_an_api_request_is_a_503_in_the_api_error_shape_while_the_database_is_away(editor, stopped_database,
                                                                                    method, path):
    token = str(AccessToken.for_user(editor))  # made before the outage: authenticating it reads the user
    body = {"task_type": "blog_post", "topic": "During the outage"} if path == "/api/tasks" else {
        "username": "editor", "password": "whatever it is"}
    client = Client(headers={"Authorization": f"Bearer {token}"})
    path = path.format(fresh=_fresh())
    response = client.post(path, body, content_type="application/json") if method == "post" else client.get(path)
    _unavailable(response)
    assert response.json()["error"]["code"] == "unavailable"
    assert "database" in response.json()["error"]["message"]


def test_the_admin_and_its_login_are_the_503_page_and_the_metrics_scraper_gets_a_503(superuser, settings):
    settings.PRESSROOM_METRICS_TOKEN = "a-metrics-token-of-the-test"
    admin = Client()
    admin.force_login(superuser)
    with database_stopped():
        for path in ("/admin/", "/admin/tasks/generationtask/"):
            _html_page(admin.get(path))
        _html_page(admin.post("/admin/logout/"))
        _html_page(Client().post("/admin/login/", {"username": "someone", "password": "a password"}))
        _unavailable(Client().get("/metrics", headers={"Authorization": "Bearer a-metrics-token-of-the-test"}))


def test_development_mode_answers_the_outage_with_the_same_503(stopped_database, settings):
    """`make run` (DEBUG on) too: the outage is not a bug to show the debug page for."""
    settings.DEBUG = True
    _html_page(Client().get(f"/search/?q={_fresh()}"))


def test_each_request_in_the_outage_logs_one_warning_line_without_a_traceback(stopped_database, caplog):
    caplog.set_level(logging.INFO)
    Client().get(f"/posts/{_fresh()}/")
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "publishing.caching"]
    assert [(r.name, r.levelname) for r in lines] == [("config.outages", "WARNING")], [r.getMessage() for r in lines]
    assert lines[0].exc_info is None
    assert "503" in lines[0].getMessage() and "OperationalError" in lines[0].getMessage()


def test_the_error_handler_answers_an_outage_outside_a_view_with_the_503_and_anything_else_with_the_500():
    request = RequestFactory().get("/api/posts")
    try:
        raise OperationalError("connection failed: the server is shutting down")
    except OperationalError:
        response = server_error(request)
    _unavailable(response)
    try:
        raise ValueError("a bug")
    except ValueError:
        assert sys.exc_info()[0] is ValueError
        assert server_error(RequestFactory().get("/")).status_code == 500


def _handler500_answer(make_error) -> tuple[Exception, object]:
    """What Django's database layer makes of the psycopg error `make_error(psycopg.errors)` builds
    (wrapped, the original its cause), and handler500's answer while it is being handled."""
    import psycopg.errors
    from django.db import connection

    try:
        with connection.wrap_database_errors:
            raise make_error(psycopg.errors)
    except Exception as wrapped:  # noqa: BLE001 (what Django made of it is the point)
        return wrapped, server_error(RequestFactory().get("/api/posts"))
    raise AssertionError("Django's wrapper raised nothing")


@pytest.mark.parametrize("psycopg_error", [
    pytest.param(lambda e: e.DeadlockDetected("deadlock detected"), id="deadlock"),
    pytest.param(lambda e: e.QueryCanceled("canceling statement due to statement timeout"), id="statement-timeout"),
    pytest.param(lambda e: e.LockNotAvailable("canceling statement due to lock timeout"), id="lock-timeout"),
    pytest.param(lambda e: e.SerializationFailure("could not serialize access"), id="serialization"),
    pytest.param(lambda e: e.DiskFull("could not extend file"), id="disk-full"),
])
def test_a_statement_that_failed_is_the_500_it_is_not_an_outage(psycopg_error):
    """Django raises these as OperationalError too; answering them 503 "cannot be reached" would
    hide a bug behind a false message and drop its traceback."""
    error, response = _handler500_answer(psycopg_error)
    assert isinstance(error, OperationalError)
    assert response.status_code == 500


@pytest.mark.parametrize("psycopg_error", [
    pytest.param(lambda e: e.OperationalError("connection refused"), id="refused"),
    pytest.param(lambda e: e.AdminShutdown("terminating connection due to administrator command"), id="shutdown"),
    pytest.param(lambda e: e.CannotConnectNow("the database system is starting up"), id="starting-up"),
    pytest.param(lambda e: e.TooManyConnections("sorry, too many clients already"), id="too-many"),
    pytest.param(lambda e: e.ConnectionFailure("connection failure"), id="class-08"),
])
def test_a_server_that_cannot_be_reached_is_an_outage(psycopg_error):
    _, response = _handler500_answer(psycopg_error)
    _unavailable(response)
