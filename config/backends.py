"""The authentication backend behind passwords and model permissions: Django's ModelBackend,
reading a user's permissions in one query.

Django's backend reads the permissions granted to the user and those of the user's groups in two
queries, the first time a request checks one; every API write checks one (`tasks.api.permissions`),
so that is a round trip per request for nothing. Here both come in one query. What is granted is
exactly what Django grants: active users only, superusers everything (Django's own path), cached on
the user object for the rest of the request as Django caches it.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class PermissionsInOneQueryBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            granted = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .order_by()
                .distinct()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in granted}
        return user_obj._perm_cache
