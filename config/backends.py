"""The authentication backend behind passwords and model permissions: Django's ModelBackend,
reading a user's permissions in one query.

Django's backend reads the permissions granted to the user and those of the user's groups in two
queries, the first time a request checks one; every API write checks one (`tasks.api.permissions`),
so that is a round trip per request for nothing. Here both come in one query, written as SQL once
per process: building the same query through the ORM cost ~0.6 ms of CPU per request, more than
the round trip. What is granted is exactly what Django grants: active users only, superusers
everything (Django's own path), read fresh per request and cached on the user object for the rest
of the request as Django caches it. The API's token authentication reads them with the user's row
(`config.authentication`), so an API write checks its permission without a query of its own.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router


@cache
def granted_permissions_sql(user: str = "%s") -> str:
    """The app label and codename of each permission granted to a user, directly or through one of
    their groups; `user` is the SQL that gives the user's id (a parameter, given twice, by default;
    a column of an enclosing query in `granted_permission_names_sql`). Table and column names come
    from the models' metadata."""
    user_model = get_user_model()
    user_permissions = user_model.user_permissions.through._meta
    user_groups = user_model.groups.through._meta
    group_permissions = Group.permissions.through._meta

    def column(meta, model) -> str:
        return next(field.column for field in meta.fields if field.related_model is model)

    permission, content_type = Permission._meta, ContentType._meta
    return (
        f'SELECT DISTINCT ct."{content_type.get_field("app_label").column}" AS app_label, '
        f'p."{permission.get_field("codename").column}" AS codename '
        f'FROM "{permission.db_table}" p JOIN "{content_type.db_table}" ct '
        f'ON ct."{content_type.pk.column}" = p."{permission.get_field("content_type").column}" '
        f'WHERE p."{permission.pk.column}" IN ('
        f'SELECT up."{column(user_permissions, Permission)}" FROM "{user_permissions.db_table}" up '
        f'WHERE up."{column(user_permissions, user_model)}" = {user} '
        f'UNION ALL SELECT gp."{column(group_permissions, Permission)}" FROM "{group_permissions.db_table}" gp '
        f'JOIN "{user_groups.db_table}" ug ON ug."{column(user_groups, Group)}" = gp."{column(group_permissions, Group)}" '
        f'WHERE ug."{column(user_groups, user_model)}" = {user})'
    )


@cache
def granted_permission_names_sql() -> str:
    """An SQL array of the "app_label.codename" of every permission granted to the user of the row
    its enclosing query reads from the user table: that user's permissions, in the same trip."""
    meta = get_user_model()._meta
    granted = granted_permissions_sql(user=f'"{meta.db_table}"."{meta.pk.column}"')
    return f"ARRAY(SELECT granted.app_label || '.' || granted.codename FROM ({granted}) AS granted)"


def remember_granted_permissions(user_obj, names) -> None:
    """Keep `names` (read by `granted_permission_names_sql` with the user's row, this request) as
    the permissions `get_all_permissions` would read for `user_obj`: only for whom it reads them
    itself (an active user who is not a superuser)."""
    if user_obj.is_active and not user_obj.is_superuser and not user_obj.is_anonymous:
        user_obj._perm_cache = set(names)


class PermissionsInOneQueryBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            # The database the ORM would read Permission from (the router's choice).
            with connections[router.db_for_read(Permission)].cursor() as cursor:
                cursor.execute(granted_permissions_sql(), [user_obj.pk, user_obj.pk])
                user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}
        return user_obj._perm_cache
