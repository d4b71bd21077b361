"""Refuse a NUL character in any query parameter with 400, before a view or the database sees it.

PostgreSQL cannot store or compare text containing NUL, so `?status__exact=%00` in an admin list
filter, `term=%00` in the admin autocomplete or any API filter would end in a 500 DataError. No
page of Pressroom has a use for NUL in a URL: this is the one place that says so. Under /api/ the
answer has the API's error shape.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

from config.api import error_body

MESSAGE = "Query parameters must not contain NUL characters."


class RejectNulQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("invalid", MESSAGE), status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)
