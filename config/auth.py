"""JWT endpoints for API clients, throttled against password guessing."""

from drf_spectacular.utils import extend_schema
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt import views as jwt_views


@extend_schema(tags=["auth"], summary="Exchange a username and password for an access and a refresh token")
class TokenObtainView(jwt_views.TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token")
class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"
