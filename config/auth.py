"""JWT endpoints for API clients and the login lockout's answers, API and admin.

Password guessing meets two limits: the `auth` throttle per client address (every token
endpoint), and django-axes' lockout per username and client address (settings: AXES_*), which
covers the admin's login form too. Refresh tokens rotate and work once; logging out blacklists
one, or all of the user's (config/tokens.py).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from config.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from config.authentication import ListedRefreshToken, read_token
from config.tokens import revoke_refresh_tokens

LOCKOUT_MESSAGE = "Too many failed logins for this account from your address. Try again in {minutes} minutes."


def _cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


class LockedOut(exceptions.APIException):
    """429 in the API's error shape, with Retry-After (DRF sets it from `wait`)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self):
        self.wait = _cooloff_seconds()
        super().__init__(LOCKOUT_MESSAGE.format(minutes=self.wait // 60))


def admin_lockout_response(request, original_response=None, credentials=None):
    """The admin login's answer while locked out (AXES_LOCKOUT_CALLABLE): a page, 429."""
    from django.contrib import admin

    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "cooloff_minutes": _cooloff_seconds() // 60,
    }
    response = render(request, "admin/locked_out.html", context, status=status.HTTP_429_TOO_MANY_REQUESTS)
    response["Retry-After"] = str(_cooloff_seconds())
    return response


LOCKED_OUT = {429: OpenApiResponse(description="Throttled, or this username is locked out for your address after "
                                   "too many wrong passwords (`code` `locked_out`); `Retry-After` says when to "
                                   "try again. The usual error body.")}


class TokenObtainInput(TokenObtainPairSerializer):
    """A username and its password."""

    # simplejwt's serializer, with the username no longer than the user model allows: a longer one
    # is a 400 here, not a 500 when the lockout records the failed attempt.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        max_length = get_user_model()._meta.get_field(self.username_field).max_length
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=max_length)


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer …`; lives JWT_ACCESS_MINUTES.")
    refresh = serializers.CharField(help_text="Works once at /api/auth/token/refresh; lives JWT_REFRESH_DAYS.")


@extend_schema(tags=["auth"], summary="Exchange a username and password for an access and a refresh token",
               responses={200: TokenPairOutput, **LOCKED_OUT})
class TokenObtainView(jwt_views.TokenObtainPairView):
    serializer_class = TokenObtainInput
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # simplejwt hands this DRF request to authenticate(); axes marks it when it refuses.
            if getattr(request, "axes_locked_out", False):
                raise LockedOut() from None
            raise


class TokenRefreshInput(TokenRefreshSerializer):
    """A refresh token."""

    token_class = ListedRefreshToken

    # simplejwt's serializer, refusing (401) a token whose user was deleted instead of a 500, and
    # taking turns: it checks that the token is not blacklisted, then blacklists it, so two
    # refreshes of one token at the same moment both passed the check (a stolen token raced its
    # owner into two sessions). The token's row is locked first, so the second finds it blacklisted.
    def validate(self, attrs):
        with transaction.atomic():
            jti = read_token(self.token_class, attrs["refresh"]).get(api_settings.JTI_CLAIM)  # or a TokenError (401)
            list(OutstandingToken.objects.select_for_update().filter(jti=jti).values_list("pk", flat=True))
            try:
                return super().validate(attrs)
            except get_user_model().DoesNotExist:
                raise exceptions.AuthenticationFailed(self.error_messages["no_active_account"],
                                                      "no_active_account") from None


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token and a new refresh token "
               "(the one sent is blacklisted: it works once)", responses={200: TokenPairOutput})
class TokenRefreshView(jwt_views.TokenRefreshView):
    serializer_class = TokenRefreshInput
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to end.")
    everywhere = serializers.BooleanField(
        default=False, help_text="Also end every other refresh token of the same user (log out everywhere)."
    )


class LogoutView(APIView):
    """Ends a refresh token (and with `everywhere`, all of its user's). Access tokens already issued
    stay valid until they expire (JWT_ACCESS_MINUTES); a password change ends them at once."""

    permission_classes = [AllowAny]  # holding the refresh token is the proof
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'  # a bad token is a 401, as on the other token endpoints

    @extend_schema(tags=["auth"], summary="Log out: blacklist a refresh token, or all of its user's",
                   request=LogoutInput, responses={204: None, 400: OpenApiResponse(
                       description="No refresh token given. The usual error body."), 401: OpenApiResponse(
                       description="The refresh token is invalid, expired or already ended. The usual error body.")})
    def post(self, request):
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = read_token(ListedRefreshToken, data.validated_data["refresh"])
        except TokenError as error:
            raise InvalidToken(error.args[0]) from None
        token.blacklist()
        if data.validated_data["everywhere"]:
            user = get_user_model().objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
            if user is not None:
                revoke_refresh_tokens(user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CurrentUserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    groups = serializers.ListField(child=serializers.CharField())
    is_superuser = serializers.BooleanField()
    can_review = serializers.BooleanField()
    can_publish = serializers.BooleanField()


class CurrentUserView(APIView):
    """Who the credentials belong to and what their role allows, for API clients to adapt."""

    @extend_schema(tags=["auth"], summary="The authenticated user and their editorial role",
                   responses=CurrentUserOutput)
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "is_superuser": user.is_superuser,
            "can_review": user.has_perm("content.review_content"),
            "can_publish": user.has_perm("publishing.publish_post"),
        }
        return Response(CurrentUserOutput(data).data)
