"""API plumbing shared by every app: the error body shape, pagination and 404s under /api/.

Every 4xx answer of the API has one shape::

    {"error": {"code": "invalid", "message": "...", "fields": {"topic": ["..."]}}}

Domain errors raised by services (see `tasks.exceptions.DomainError`) carry their own status and
code, so a service can refuse an illegal transition once and the API answers 409 without a view
knowing about it.
"""

from __future__ import annotations

import codecs

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.utils import json

from tasks.exceptions import DomainError
from tasks.validators import JSON_MAX_DEPTH, nested_deeper_than, unstorable_text


class RepeatedKey(ValueError):
    pass


def _object_without_repeated_keys(pairs: list) -> dict:
    """A JSON object as a dict, refusing a key given twice: `json` would keep the last value and
    say nothing, while a proxy, a log or the client's own code may have read the first (an
    `approved` both false and true)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = set()
        repeated = next(key for key, _value in pairs if key in seen or seen.add(key))
        raise RepeatedKey(f"the key {json.dumps(repeated)} is given twice in one object.")
    return data


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering a too deeply nested body, or a string (key or value) with a NUL
    character or a lone surrogate, or with a key given twice in one object, with 400 instead of a
    500 or a silent choice of the last value.

    `json` raises `RecursionError` (not a `ValueError`) on a body like `[[[[...]]]]` thousands
    deep, which DRF's parser lets through. Nothing the API accepts nests that deep, so such a body
    is malformed input like any other. What parses is held to JSON_MAX_DEPTH levels too: where
    parsing stops depends on the stack it runs on, and 850 levels of a task's metadata, stored,
    could not be shown by the admin's task page, which renders them from a deeper one. The
    default parser of every API view (settings).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF's own parse, with one more rule: a key given twice in one object is refused.
        too_deep = f"JSON parse error - the body is nested too deeply (more than {JSON_MAX_DEPTH} levels)."
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.load(codecs.getreader(encoding)(stream), parse_constant=json.strict_constant,
                             object_pairs_hook=_object_without_repeated_keys)
        except RecursionError:
            raise exceptions.ParseError(too_deep) from None
        except ValueError as error:  # RepeatedKey too
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        if nested_deeper_than(data, JSON_MAX_DEPTH):
            raise exceptions.ParseError(too_deep)
        found = unstorable_text(data)
        if found:
            field, problem = found
            message = f"Contains {problem}, which cannot be stored."
            if field is None:
                raise exceptions.ParseError(f"JSON parse error - a string contains {problem}.")
            raise exceptions.ValidationError({field: [message]})  # named like any invalid field
        return data


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def _flatten(detail) -> list[str] | dict:
    """Turn DRF's nested ErrorDetail structures into plain strings, keeping the nesting."""
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat: list = []
        for item in detail:
            value = _flatten(item)
            if isinstance(value, list):
                flat.extend(value)
            else:
                flat.append(value)
        return flat
    return [str(detail)]


def error_body(code: str, message: str, fields: dict | None = None, **details) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **details}}


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # Django's limit, met when DRF reads the body
        message = f"The request body is larger than the API accepts ({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes)."
        return Response(error_body("too_large", message), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response(error_body("invalid", str(exc) or "The request has too many fields."),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, str(exc), exc.fields, **exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES and DEFAULT_PAGINATION_CLASS
    # (this module's classes) when it is first imported, so importing it at the top of this module
    # fails whenever this module is the first to load it (a circular import).
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _flatten(detail)
        first = next(iter(fields.values()), ["Invalid input."])
        message = first[0] if isinstance(first, list) and first and isinstance(first[0], str) else "Invalid input."
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        if isinstance(exc.detail, dict):  # e.g. simplejwt: {"detail": ..., "code": ..., "messages": [...]}
            code = str(exc.detail.get("code", exc.default_code))
            message = exc.detail.get("detail", exc.default_detail)
        else:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else exc.default_code
            message = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            message = f"Request was throttled. Try again in {int(exc.wait) + 1} seconds."
        response.data = error_body(code, str(message))
    return response


@csrf_exempt  # it changes nothing; a POST with a bearer token and no CSRF cookie got Django's HTML 403
def api_not_found(request, exception=None):
    """404 for paths under /api/ that match no route, whatever the method, in the API's error shape."""
    return JsonResponse(error_body("not_found", "No API endpoint at this path."), status=status.HTTP_404_NOT_FOUND)
