"""Refuse a NUL character in any query parameter with 400, before a view or the database sees it.

PostgreSQL cannot store or compare text containing NUL, so `?status__exact=%00` in an admin list
filter, `term=%00` in the admin autocomplete or any API filter would end in a 500 DataError. No
page of the admin or the editorial API has a use for NUL in a URL: this is the one place that says
so. Under /api/ the answer has the API's error shape. The public blog and the public posts API
(`/api/posts…`) are left alone: they promise readers an answer for any query (a search for NUL
answers 200, a NUL page number gives a page) and clean text queries themselves.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

from config.api import error_body

MESSAGE = "Query parameters must not contain NUL characters."
GUARDED = ("/admin/", "/api/")
PUBLIC = ("/api/posts",)


class RejectNulQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        guarded = request.path.startswith(GUARDED) and not request.path.startswith(PUBLIC)
        if guarded and any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("invalid", MESSAGE), status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)
