"""The API's JWT authentication: simplejwt's, reading the token's user by SQL written once.

Every API request with a token reads its user; simplejwt builds that query through the ORM each
time (~0.3 ms of CPU, several times the round trip). Here the same row comes through
`config.rows.one_row_with`, together with the user's permissions (`config.backends`: every API
write checks one, which then costs no query of its own). The id is prepared by the user model's
field as the ORM prepares it, and every refusal (unknown user, inactive user, changed password) is
simplejwt's, with its messages.

A token's signature is checked once per process, not on every request (`VALIDATED_TOKENS`): a
token that validated is kept by its exact bytes, and a later request with the same bytes only has
its expiry checked again. Everything else the check decides (signature, algorithm, claims, type)
follows from those bytes and the settings; what can change meanwhile — the user's password,
activity, permissions — is read fresh on every request by `get_user`. Tokens that can be
blacklisted are not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.core.signals import setting_changed
from django.dispatch import receiver
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import BlacklistMixin, RefreshToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

from config.backends import granted_permission_names_sql, remember_granted_permissions
from config.rows import one_row_with


class JWTAuthentication(authentication.JWTAuthentication):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # simplejwt's get_user, the only reader of `user_model`, reads the user with
        # `user_model.objects.get(<USER_ID_FIELD>=...)` and then checks it.
        self.user_model = UserRows(self.user_model)


    def get_validated_token(self, raw_token: bytes) -> Token:
        token = VALIDATED_TOKENS.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
                return token
            except TokenError:
                VALIDATED_TOKENS.forget(raw_token)  # expired: simplejwt's own check says so below
        try:
            token = super().get_validated_token(raw_token)
        except UNREADABLE_CLAIMS:
            raise InvalidToken("Token is invalid") from None
        if not isinstance(token, BlacklistMixin):
            VALIDATED_TOKENS.keep(raw_token, token)
        return token


# What simplejwt raises, outside its own TokenError, for a signed token whose claims are of the
# wrong kind: an `exp` past year 9999 (OverflowError from the datetime it becomes). Only a holder
# of the signing key can make one; it is an invalid token (401), never a 500.
UNREADABLE_CLAIMS = (OverflowError, ValueError, TypeError)


def read_token(token_class: type[Token], raw: str) -> Token:
    """`token_class(raw)` (signature, type and expiry checked), a token whose claims cannot be
    read refused as simplejwt refuses any invalid one (TokenError)."""
    try:
        return token_class(raw)
    except UNREADABLE_CLAIMS:
        raise TokenError("Token is invalid") from None


class ListedRefreshToken(RefreshToken):
    """simplejwt's refresh token, whose id (`jti`) must be one the token lists can hold before
    they are asked about it: the blacklist looks it up and `blacklist()` stores it in a
    varchar(255), so a signed token with a NUL or a longer id was a DataError, one without an id a
    KeyError (500s). Issued tokens carry 32 hex digits.

    A token the outstanding list does not hold is refused, as a session the database does not
    hold is: every token Pressroom issues is listed (at sign-in and at each rotation), so an
    unlisted one comes from before a database restore, issued after the dump. Accepted, it worked
    and kept working through "log out everywhere", which ends only the tokens listed."""

    def check_blacklist(self) -> None:
        jti = self.payload.get(api_settings.JTI_CLAIM)
        if not isinstance(jti, str) or not 0 < len(jti) <= TOKEN_ID_MAX_LENGTH or "\x00" in jti:
            raise TokenError("Token is invalid")
        listed = OutstandingToken.objects.filter(jti=jti).values_list("pk", "blacklistedtoken").first()  # one query
        if listed is None:
            raise TokenError("Token is invalid")
        if listed[1] is not None:
            raise TokenError("Token is blacklisted")


TOKEN_ID_MAX_LENGTH = OutstandingToken._meta.get_field("jti").max_length


class ValidatedTokens:
    """The tokens this process validated lately, by their bytes: at most `size`, the oldest
    forgotten first; safe across threads (Daphne serves the API from several)."""

    def __init__(self, size: int):
        self.size, self._tokens, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        with self._lock:
            return self._tokens.get(raw_token)

    def keep(self, raw_token: bytes, token: Token) -> None:
        with self._lock:
            self._tokens[raw_token] = token
            self._tokens.move_to_end(raw_token)
            while len(self._tokens) > self.size:
                self._tokens.popitem(last=False)

    def forget(self, raw_token: bytes | None = None) -> None:
        with self._lock:
            if raw_token is None:
                self._tokens.clear()
            else:
                self._tokens.pop(raw_token, None)


VALIDATED_TOKENS = ValidatedTokens(size=2048)


@receiver(setting_changed, dispatch_uid="config.authentication.validated_tokens")
def _forget_validated_tokens(setting, **kwargs):
    """A test that changes the signing settings must not find tokens checked under the old ones."""
    if setting in {"SIMPLE_JWT", "SECRET_KEY"}:
        VALIDATED_TOKENS.forget()


class UserRows:
    """Stands for the user model in simplejwt's get_user: `objects.get(field=value)` by one_row."""

    def __init__(self, model):
        self.model, self.DoesNotExist, self.objects = model, model.DoesNotExist, self

    def get(self, **lookup):
        [(name, value)] = lookup.items()
        field = self.model._meta.get_field(name)
        try:
            prepared = field.get_prep_value(value)
        except (ValueError, TypeError):  # a signed user id that is no id ("abc", a list): nobody's
            raise self.DoesNotExist from None
        user, granted = one_row_with(self.model, granted_permission_names_sql(), f'"{field.column}" = %s', [prepared])
        remember_granted_permissions(user, granted)
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class, as drf-spectacular describes simplejwt's."""

    target_class = JWTAuthentication
