"""Routes of the publishing API under /api/, each with or without a trailing slash.

`posts/search` comes before `posts/{slug}`, which would otherwise take "search" for a slug.
"""

from django.urls import re_path

from publishing.api import views
from publishing.api.posts import PostDetailApi, PostListApi
from publishing.api.search import PostSearchApi
from publishing.api.webhooks import (
    DeliveryResendApi, SubscriptionDeliveriesApi, SubscriptionDetailApi, SubscriptionListApi, SubscriptionPingApi,
)

TASK = r"^tasks/(?P<task_id>[^/]+)"
WEBHOOK = r"^webhooks/(?P<subscription_id>[0-9]+)"

urlpatterns = [
    re_path(r"^posts/?$", PostListApi.as_view(), name="post_list"),
    re_path(r"^posts/search/?$", PostSearchApi.as_view(), name="post_search"),
    re_path(r"^posts/(?P<slug>[-\w]+)/?$", PostDetailApi.as_view(), name="post_detail"),
    re_path(rf"{TASK}/publish/?$", views.PublishApi.as_view(), name="task_publish"),
    re_path(rf"{TASK}/unpublish/?$", views.UnpublishApi.as_view(), name="task_unpublish"),
    re_path(r"^webhooks/?$", SubscriptionListApi.as_view(), name="webhook_list"),
    re_path(rf"{WEBHOOK}/?$", SubscriptionDetailApi.as_view(), name="webhook_detail"),
    re_path(rf"{WEBHOOK}/deliveries/?$", SubscriptionDeliveriesApi.as_view(), name="webhook_deliveries"),
    re_path(rf"{WEBHOOK}/ping/?$", SubscriptionPingApi.as_view(), name="webhook_ping"),
    re_path(r"^webhook-deliveries/(?P<delivery_id>[0-9]+)/resend/?$", DeliveryResendApi.as_view(),
            name="webhook_delivery_resend"),
]
