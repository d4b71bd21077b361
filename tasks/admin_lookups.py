"""What every changelist of the oversight hub does with a lookup it cannot run: the admin's "?e=1".

A lookup in the query string that names a real field but a value no `datetime` holds
(`?created_at__year=99999999999999`, `?published_at__year=-1`) passes the admin's own checks and
fails only while the list is counted, as `OverflowError` or `ValueError`: without this, a 500.
Every ModelAdmin of the apps mixes this in (`publishing` and `content` too: imports flow to `tasks`).
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters


class BoundedLookupsMixin:
    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(f"Lookup out of range: {error}") from None
