"""Helpers of API tests: the usual error body, asserted once."""

from __future__ import annotations


def error_of(response, status: int, code: str | None = None) -> dict:
    """The error body of `response`, after checking its status, its message and (if given) its code."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error
