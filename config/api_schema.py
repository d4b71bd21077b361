"""The OpenAPI schema's default refusals: every operation documents the 4xx answers it can give.

Views declare the answers that are particular to them (a 409 of a state change, a 422 of a reused
idempotency key); the answers any API view can give are added here, once, from what the view is:
any request may be malformed (a query parameter with a NUL, a bad body: 400), a view that reads
or checks credentials refuses bad ones (401), one that checks permissions refuses a role (403), an
operation on an object (a path parameter) or a page (pagination) may find none (404), a body may
be too large (413), a throttled view says when to come back (429). Each comes with the API's one
error body (`config.api.error_body`), so a client and the schema tests
(tests/security/test_schema_fuzz.py) can check it.
Kept apart from `config.api`, which DRF imports before drf-spectacular can be.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`, `throttled`.")
    message = serializers.CharField()
    fields = serializers.DictField(help_text="Field name to a list of messages (or nested fields); may be empty.")
    budget = serializers.DictField(required=False, help_text=(
        "Only with `budget_exceeded`: the budget (`scope`: site or user) with its `limit`, `spent` this month, "
        "this brief's `estimate` and what `remaining`, in USD."))


class ErrorOutput(serializers.Serializer):
    error = ErrorDetailOutput()


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema of a view, with the refusals every view of its kind can give."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._default_refusals().items():
            if str(code) not in responses:
                response = OpenApiResponse(response=ErrorOutput, description=description)
                responses[str(code)] = self._get_response_for_code(response, str(code), direction=direction)
        return responses

    def _default_refusals(self) -> dict[int, str]:
        view = self.view
        refusals = {400: "Invalid input (body, query parameter or header); `fields` names what is wrong."}
        if view.get_authenticators() or isinstance(view, TokenViewBase):
            refusals[401] = "Missing, invalid or expired credentials."
        if not all(isinstance(permission, AllowAny) for permission in view.get_permissions()):
            refusals[403] = "Your role may not do this."
        if "{" in self.path or (self.method == "GET" and self._is_list_view() and self._get_paginator()):
            refusals[404] = "No such object among those you may see, or no such page."
        if self.method in ("POST", "PUT", "PATCH"):
            refusals[413] = "The request body is larger than the API accepts (DATA_UPLOAD_MAX_MEMORY_SIZE)."
        if view.get_throttles():
            refusals[429] = "Too many requests; `Retry-After` says when to try again."
        return refusals
