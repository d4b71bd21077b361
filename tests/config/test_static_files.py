"""Static files' byte ranges (config/static_files.py): what RFC 9110 section 14.1.2 asks, where
WhiteNoise 6.12 refused a one-byte range and an invalid one with 416."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from config.static_files import RangeStaticFile, RangeWhiteNoiseMiddleware, byte_range

BODY = b"0123456789"


@pytest.fixture
def served(tmp_path, settings):
    """The project's middleware serving one ten-byte file at /static/digits.txt."""
    (tmp_path / "digits.txt").write_bytes(BODY)
    middleware = RangeWhiteNoiseMiddleware(get_response=lambda request: None, settings=settings)
    middleware.add_files(str(tmp_path), prefix="static/")
    return middleware.files["/static/digits.txt"]


def answer(static_file, range_header: str, method: str = "GET"):
    response = static_file.get_response(method, {"HTTP_RANGE": range_header})
    headers = dict(response.headers)
    body = response.file.read() if response.file is not None else b""
    if response.file is not None:
        response.file.close()
    return response.status, headers, body


def test_the_project_serves_static_files_through_the_range_reading_middleware(settings):
    assert "config.static_files.RangeWhiteNoiseMiddleware" in settings.MIDDLEWARE
    assert "whitenoise.middleware.WhiteNoiseMiddleware" not in settings.MIDDLEWARE


def test_every_file_served_answers_ranges_as_the_rfc_reads_them(served):
    assert isinstance(served, RangeStaticFile)


def test_a_range_of_one_byte_is_that_byte(served):
    status, headers, body = answer(served, "bytes=0-0")
    assert (status, body) == (HTTPStatus.PARTIAL_CONTENT, b"0")
    assert headers["Content-Range"] == "bytes 0-0/10" and headers["Content-Length"] == "1"
    assert answer(served, "bytes=9-9")[2] == b"9"


@pytest.mark.parametrize("header, expected", [
    ("bytes=2-4", b"234"),
    ("bytes=7-", b"789"),
    ("bytes=8-100", b"89"),
    ("bytes=-3", b"789"),
    ("bytes=-100", BODY),
    (" bytes=0-1 ", b"01"),
])
def test_a_range_inside_the_file_is_sent_in_part(served, header, expected):
    status, headers, body = answer(served, header)
    assert (status, body) == (HTTPStatus.PARTIAL_CONTENT, expected)
    assert headers["Content-Length"] == str(len(expected))


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0", f"bytes={'9' * 5000}-"])
def test_a_range_outside_the_file_is_not_satisfiable(served, header):
    status, headers, body = answer(served, header)
    assert (status, body) == (HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"")
    assert headers["Content-Range"] == "bytes */10"


@pytest.mark.parametrize("header", ["bytes=5-3", "bytes=0-1,3-4", "items=0-1", "bytes=a-b", "bytes=-",
                                    "bytes=١-٢", "bytes=0-1\x00"])
def test_a_range_the_rfc_calls_invalid_is_ignored_and_the_whole_file_sent(served, header):
    status, headers, body = answer(served, header)
    assert (status, body) == (HTTPStatus.OK, BODY)
    assert "Content-Range" not in headers


def test_a_head_request_with_a_range_answers_the_same_headers_without_a_body(served):
    status, headers, body = answer(served, "bytes=0-0", method="HEAD")
    assert (status, headers["Content-Range"], body) == (HTTPStatus.PARTIAL_CONTENT, "bytes 0-0/10", b"")


def test_a_number_longer_than_any_file_is_read_without_parsing_it_whole():
    assert byte_range("bytes=0-" + "9" * 100_000, 10) == (0, 9)
    assert byte_range("bytes=" + "0" * 1000 + "3-4", 10) == (3, 4)
