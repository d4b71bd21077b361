"""Request text is UTF-8 (config/utf8_only.py): another charset is 415, text that is not UTF-8 is
400, and nothing is decompressed, decoded with replacement characters or stored."""

from __future__ import annotations

import bz2
import zlib

import pytest
from django.test import Client

from publishing.models import Tag

pytestmark = pytest.mark.django_db

JSON_LOGOUT = b'{"refresh": "not-a-token"}'


@pytest.mark.parametrize("charset", ["bz2_codec", "zlib", "base64_codec", "hex", "rot13", "punycode", "idna",
                                     "utf-16", "latin-1", "no-such-codec"])
def test_a_json_body_in_any_charset_but_utf8_is_refused_with_415_before_it_is_decoded(charset):
    response = Client().generic("POST", "/api/auth/logout", JSON_LOGOUT, content_type=f"application/json; charset={charset}")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert "Send the request body as UTF-8" in response.json()["error"]["message"]


def test_a_compressed_body_is_never_decompressed():
    """143 bytes that bz2 turns into 100 MB were decompressed before they were parsed."""
    bomb = bz2.compress(b" " * 10_000_000 + JSON_LOGOUT, 9)

    response = Client().generic("POST", "/api/auth/logout", bomb, content_type="application/json; charset=bz2_codec")

    assert response.status_code == 415 and len(bomb) < 1000
    corrupt = Client().generic("POST", "/api/auth/token", zlib.compress(b"{}")[:5],
                               content_type="application/json; charset=zlib")
    assert corrupt.status_code == 415


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", "U8", '"utf-8"'])
def test_utf8_by_any_of_its_names_is_read(charset):
    response = Client().generic("POST", "/api/auth/logout", JSON_LOGOUT, content_type=f"application/json; charset={charset}")

    assert response.status_code == 401  # read, and the token refused


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded; charset=punycode",
                                          "multipart/form-data; boundary=b; charset=idna"])
def test_a_form_in_another_charset_is_refused_with_415_on_the_token_endpoint(content_type):
    body = (b"username=a&password=b" if "urlencoded" in content_type else
            b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nab=c\r\n--b--\r\n')

    response = Client().generic("POST", "/api/auth/token", body, content_type=content_type)

    assert response.status_code == 415


def test_an_admin_form_in_latin1_is_refused_with_415_not_a_debug_page_500(settings):
    settings.DEBUG = True  # `make run`: Django's debug page read the form again and failed
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "abcdefghijklmnopqrstuvwxyz012345"

    response = client.generic("POST", "/admin/login/",
                              b"username=a&password=b&csrfmiddlewaretoken=abcdefghijklmnopqrstuvwxyz012345",
                              content_type="application/x-www-form-urlencoded; charset=latin-1")

    assert response.status_code == 415 and b"Send the request body as UTF-8" in response.content


@pytest.mark.parametrize("body", [b"name=Bad%FFbyte&slug=bad-byte-tag", b"name=Bad\xffbyte&slug=bad-byte-tag",
                                  b"name=Half%C3&slug=bad-byte-tag"])
def test_a_form_whose_text_is_not_utf8_is_refused_and_nothing_is_stored(superuser, body):
    client = Client()
    client.force_login(superuser)

    response = client.generic("POST", "/admin/publishing/tag/add/", body,
                              content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400 and response.content == b"The form's text is not valid UTF-8."
    assert not Tag.objects.filter(slug="bad-byte-tag").exists()


def test_a_utf8_form_is_read_as_before(superuser):
    client = Client()
    client.force_login(superuser)

    response = client.generic("POST", "/admin/publishing/tag/add/", "name=Caf%C3%A9+cr%C3%A8me&slug=cafe-creme".encode(),
                              content_type="application/x-www-form-urlencoded")

    assert response.status_code == 302 and Tag.objects.get(slug="cafe-creme").name == "Café crème"


def test_a_query_string_that_is_not_utf8_is_refused_where_the_editors_work(superuser):
    client = Client()
    client.force_login(superuser)

    api = client.get("/api/tasks?search=%FF")
    admin_list = client.get("/admin/tasks/generationtask/?q=%C3")

    assert api.status_code == 400 and api.json()["error"]["message"] == "The query string is not valid UTF-8."
    assert admin_list.status_code == 400
    assert client.get("/api/tasks?search=caf%C3%A9").status_code == 200


def test_the_public_blog_still_answers_any_query():
    assert Client().get("/search/?q=%FF").status_code == 200
    assert Client().get("/api/posts?search=%FF").status_code == 200
