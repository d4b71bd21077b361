"""The API, fuzzed from its own OpenAPI schema: no operation answers 5xx, and every answer is one
the schema documents (status code and body).

schemathesis reads `/api/schema` through the WSGI app and generates requests for each operation
(valid and invalid), sent as an editor with a JWT. The budget is small and deterministic, so the
suite stays bounded and a failure replays; `SCHEMA_FUZZ_EXAMPLES=100` runs a deeper search by hand
(about 9 minutes).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from config.wsgi import application
from publishing.api.public import PublicRateThrottle

EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "5"))
UNTHROTTLED = "1000000/second"

schema = schemathesis.openapi.from_wsgi("/api/schema", application)
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # about 40 s: every operation, both generation modes


@pytest.fixture
def editor_token(editor) -> str:
    return str(AccessToken.for_user(editor))


@pytest.fixture(autouse=True)
def _unthrottled(monkeypatch):
    """DRF reads the rates once, at class definition: raise them on the classes for the run."""
    for throttle in (ScopedRateThrottle, PublicRateThrottle):
        rates = {scope: UNTHROTTLED for scope in throttle.THROTTLE_RATES}
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """The WSGI handler closes database connections around each request; the test's transaction
    must outlive them (Django's own test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_operation_never_fails_and_answers_as_documented(case, editor_token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {editor_token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )


def test_a_reused_idempotency_key_is_answered_as_documented(editor_token):
    """Found by the 100-example run: the 422 of a reused key was described, not declared."""
    operation = schema["/api/tasks/"]["POST"]
    headers = {"Authorization": f"Bearer {editor_token}", "Idempotency-Key": "same-key"}
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    operation.Case(body={"topic": "Composting at home"}, headers=headers).call_and_validate(checks=checks)

    response = operation.Case(body={"topic": "Heat pumps at home"}, headers=headers).call_and_validate(checks=checks)

    assert response.status_code == 422
