"""Hostile request headers never give a 500: NUL characters and out-of-range values in every header
the code reads (credentials, cookies, conditional GETs, language, origin, forwarding, host, content
type and length) are answered with a 4xx or ignored — on the blog, the API and the admin alike,
through the WSGI handler and, for a sample, through the ASGI application Daphne serves."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from publishing.models import Post
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NUL = "\x00"
LONG = "a" * 20_000

# header -> odd values; every one is sent on its own to every URL below.
HOSTILE_HEADERS = {
    "Authorization": [f"Bearer {NUL}abc", f"Bearer a{NUL}.b.c", "Bearer", "Bearer a b c", f"Bearer {LONG}",
                      f"Basic {NUL}", "Basic !!!not-base64", "Basic Og==", "Basic " + "QQ==" * 5000, NUL],
    "Cookie": [f"sessionid={NUL}abc", f"sessionid={NUL}{'a' * 31}", f"csrftoken={NUL}", f"sessionid={LONG}", "sessionid=\"unterminated",
               'sessionid="\\000aaaaaaaaaaaa"', 'csrftoken="\\000aaaa"',  # a quoted octal escape decodes to a NUL
               f"{NUL}=x", "csrftoken=" + "x" * 64],
    "If-None-Match": [f'"{NUL}"', "*", "W/" * 5_000, '"' * 3, LONG],
    "If-Modified-Since": [NUL, "Mon, 99 Foo 99999 99:99:99 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                          "Sat, 01 Jan 0001 00:00:00 GMT", "-1", "99999999999999999999", LONG],
    "Accept-Language": [NUL, f"en{NUL}", "*;q=abc", "zz-ZZ;q=2", "x" * 5_000, ",;,;=", "de-" + "x" * 300],
    "Origin": [NUL, "null", "http://[::1", "http://a:99999", f"https://evil.example{NUL}"],
    "X-Forwarded-For": [NUL, f"1.2.3.4, {NUL}", "not-an-ip", "999.999.999.999", ", , ,", LONG],
    "X-Forwarded-Proto": [NUL, f"https{NUL}", "gopher", LONG],
    "Referer": [NUL, "http://[::1", f"https://evil.example/{NUL}", LONG],
    "X-Request-ID": [NUL, f"id{NUL}", "a\nb", "a\r\nSet-Cookie: x=1", "ü" * 10, LONG],
    "Host": [NUL, "evil.example", "localhost:99999", "[::1", "a" * 300, "localhost:abc", "localhost@evil"],
}
URLS = {
    "blog": ["/", "/posts/a-public-post/", "/search/?q=compost", "/feeds/rss/"],
    "api": ["/api/tasks", "/api/auth/me", "/api/posts", "/api/posts/a-public-post", "/api/schema"],
    "admin": ["/admin/", "/admin/tasks/generationtask/", "/admin/login/"],
}


@pytest.fixture
def public_post():
    return Post.objects.create(title="A public post", slug="a-public-post", body="Compost.",
                               published_at=timezone.now() - timezone.timedelta(days=1))


def wsgi_headers(name: str, value: str) -> dict:
    """Django test client keyword arguments that send the header `name: value` as a server would."""
    if name == "Host":
        return {"HTTP_HOST": value, "SERVER_NAME": "localhost"}
    return {"HTTP_" + name.upper().replace("-", "_"): value}


def assert_not_a_server_error(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


@pytest.mark.parametrize("header", HOSTILE_HEADERS)
@pytest.mark.parametrize("area", URLS)
def test_a_hostile_header_on_a_blog_api_or_admin_page_is_a_4xx_or_ignored(public_post, superuser, area, header):
    client = Client()
    if header not in ("Cookie", "Authorization"):
        client.force_login(superuser)  # the admin's pages and the API read past authentication
    for url in URLS[area]:
        for value in HOSTILE_HEADERS[header]:
            response = client.get(url, **wsgi_headers(header, value))

            assert_not_a_server_error(response, (url, header, value[:40]))
            if NUL in value:
                assert response.status_code == 400, (url, header, value[:40], response.status_code)


@pytest.mark.parametrize("value", ["Bearer a.b.c", "Basic Og==", f"Bearer {LONG}", "Bearer \x7f\x01"])
def test_a_hostile_authorization_header_on_the_api_is_a_401(value):
    response = Client().get("/api/tasks", HTTP_AUTHORIZATION=value)

    assert response.status_code == 401, response.content


def test_a_valid_token_still_works_beside_a_forged_session_cookie(editor):
    token = AccessToken.for_user(editor)

    response = Client().get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_COOKIE="sessionid=" + "z" * 32)

    assert response.status_code == 200


@pytest.mark.parametrize("value", [NUL, "evil.example", "[::1", "localhost:abc"])
def test_an_odd_host_is_a_400(value):
    assert Client().get("/", HTTP_HOST=value).status_code == 400


# --- Bodies with odd content types and lengths ---------------------------------------------------

CONTENT_TYPES = [
    "application/json; charset=utf-7", "application/json; charset=unknown-8", "application/json; charset=utf-16",
    "application/json; charset=" + "x" * 500, "application/x-www-form-urlencoded; charset=zzz",
    "multipart/form-data", "multipart/form-data; boundary=" + "b" * 5_000, "multipart/form-data; boundary=",
    "text/plain", "application/json;;;=", "",
]  # with NUL: refused before Django sees the request (test_a_nul_in_any_header_...)
CONTENT_LENGTHS = ["999999", "-1", "abc", NUL, "0", "1" * 40]
BODY = b'{"username": "editor1", "password": "x", "topic": "Composting at home"}'


def body_targets(editor, superuser) -> list[tuple[Client, str]]:
    api = Client()
    api.defaults["HTTP_AUTHORIZATION"] = f"Bearer {AccessToken.for_user(editor)}"
    admin = Client()
    admin.force_login(superuser)
    return [(Client(), "/api/auth/token"), (api, "/api/tasks"), (api, "/api/tasks/estimate"),
            (Client(), "/admin/login/"), (admin, "/admin/publishing/category/add/")]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_an_odd_content_type_is_a_4xx_or_read_as_usual(editor, superuser, content_type):
    for client, url in body_targets(editor, superuser):
        response = client.generic("POST", url, BODY, content_type=content_type)

        assert_not_a_server_error(response, (url, content_type))


@pytest.mark.parametrize("length", CONTENT_LENGTHS)
def test_a_content_length_that_does_not_match_the_body_is_a_4xx_or_read_as_usual(editor, superuser, length):
    for client, url in body_targets(editor, superuser):
        # A plain stream, as a server hands it over: a short body ends early (the test client's asserts).
        response = client.generic("POST", url, BODY, content_type="application/json", CONTENT_LENGTH=length,
                                  **{"wsgi.input": io.BytesIO(BODY)})

        assert_not_a_server_error(response, (url, length))


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ORIGIN": NUL}, {"HTTP_ORIGIN": "http://[::1"}, {"HTTP_REFERER": NUL},
     {"HTTP_REFERER": "http://[::1"}, {"HTTP_COOKIE": f"csrftoken={NUL}"}, {"HTTP_X_CSRFTOKEN": NUL},
     {"HTTP_ORIGIN": "null", "HTTP_REFERER": LONG}, {"wsgi.url_scheme": "https", "HTTP_REFERER": "http://[::1"}],
)
def test_hostile_csrf_headers_on_a_form_post_are_a_403_or_a_400_for_nul(editor, headers):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": editor.username, "password": PASSWORD}, **headers)

    assert response.status_code == (400 if any(NUL in value for value in headers.values()) else 403)


# --- NUL in any header, through the applications the servers run ---------------------------------

NUL_HEADERS = ["CONTENT_TYPE", "HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_IF_NONE_MATCH", "HTTP_ACCEPT_LANGUAGE",
               "HTTP_X_FORWARDED_FOR", "HTTP_HOST"]
NUL_VALUES = {"CONTENT_TYPE": f"application/json; charset={NUL}"}


@pytest.mark.parametrize("header", NUL_HEADERS)
@pytest.mark.parametrize("path", ["/", "/api/tasks", "/admin/login/"])
def test_a_nul_in_any_header_through_the_wsgi_application_is_a_400(path, header):
    """Gunicorn runs this application; Django's request fails on a NUL charset before any middleware."""
    from config.wsgi import application

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "wsgi.input": io.BytesIO(BODY),
               "CONTENT_LENGTH": str(len(BODY)), "CONTENT_TYPE": "application/json",
               header: NUL_VALUES.get(header, f"x{NUL}")}
    setup_testing_defaults(environ)
    started = []

    body = b"".join(application(environ, lambda status, headers, exc_info=None: started.append(status)))

    assert started == ["400 Bad Request"]
    if path.startswith("/api/"):
        assert json.loads(body)["error"]["code"] == "invalid"


# --- The same through the ASGI application -----------------------------------------------------

ASGI_CASES = [("/", "if-none-match", f'"{NUL}"'), ("/", "if-modified-since", NUL),
              ("/", "accept-language", NUL), ("/api/tasks", "authorization", f"Bearer {NUL}x"),
              ("/api/posts", "origin", NUL), ("/admin/", "cookie", f"sessionid={NUL}"),
              ("/admin/login/", "x-forwarded-for", NUL), ("/", "host", NUL), ("/api/tasks", "content-type",
              f"application/json; charset={NUL}"), ("/", "referer", NUL),
              ("/api/tasks", "host", "[::1"), ("/healthz", "if-modified-since", "Fri, 31 Dec 9999 23:59:59 GMT"),
              ("/healthz", "x-forwarded-for", LONG), ("/healthz", "accept-language", "x" * 5_000)]
# Cases that reach a view stay off the database: the ASGI handler would query it from another thread.


@pytest.mark.parametrize(("path", "header", "value"), ASGI_CASES)
def test_a_hostile_header_through_the_asgi_application_is_a_4xx_or_ignored(path, header, value):
    from config.asgi import application

    headers = [(header.encode(), value.encode())]
    if header != "host":
        headers.append((b"host", b"localhost"))

    async def call():
        communicator = HttpCommunicator(application, "GET", path, headers=headers)
        return await communicator.get_response(timeout=10)

    response = async_to_sync(call)()

    expected = 400 if NUL in value else response["status"]
    assert response["status"] < 500, (path, header, response["status"], response["body"][:300])
    assert response["status"] == expected
