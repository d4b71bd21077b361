"""JWT endpoints for API clients, throttled against password guessing."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views


@extend_schema(tags=["auth"], summary="Exchange a username and password for an access and a refresh token")
class TokenObtainView(jwt_views.TokenObtainPairView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


@extend_schema(tags=["auth"], summary="Exchange a refresh token for a new access token")
class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


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
