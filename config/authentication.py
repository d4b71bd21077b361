"""The API's JWT authentication: simplejwt's, reading the token's user by SQL written once.

Every API request with a token reads its user; simplejwt builds that query through the ORM each
time (~0.3 ms of CPU, several times the round trip). Here the same row comes through
`config.rows.one_row_with`, together with the user's permissions (`config.backends`: every API
write checks one, which then costs no query of its own). The id is prepared by the user model's
field as the ORM prepares it, and every refusal (unknown user, inactive user, changed password) is
simplejwt's, with its messages.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication

from config.backends import granted_permission_names_sql, remember_granted_permissions
from config.rows import one_row_with


class JWTAuthentication(authentication.JWTAuthentication):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # simplejwt's get_user, the only reader of `user_model`, reads the user with
        # `user_model.objects.get(<USER_ID_FIELD>=...)` and then checks it.
        self.user_model = UserRows(self.user_model)


class UserRows:
    """Stands for the user model in simplejwt's get_user: `objects.get(field=value)` by one_row."""

    def __init__(self, model):
        self.model, self.DoesNotExist, self.objects = model, model.DoesNotExist, self

    def get(self, **lookup):
        [(name, value)] = lookup.items()
        field = self.model._meta.get_field(name)
        user, granted = one_row_with(self.model, granted_permission_names_sql(), f'"{field.column}" = %s',
                                     [field.get_prep_value(value)])
        remember_granted_permissions(user, granted)
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class, as drf-spectacular describes simplejwt's."""

    target_class = JWTAuthentication
