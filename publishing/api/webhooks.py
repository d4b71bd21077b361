"""Webhook API: the subscriptions the admin manages, scriptable by superusers.

`GET/POST /api/webhooks` lists and creates subscriptions, `GET/PATCH/DELETE /api/webhooks/{id}`
reads, changes and removes one, `GET /api/webhooks/{id}/deliveries` lists its latest attempts,
`POST /api/webhooks/{id}/ping` sends it a test event and `POST /api/webhook-deliveries/{id}/resend`
sends an event that ran out of attempts once more. The values pass the same rules as the admin's
form (`publishing.webhooks.rules`) and are written by the same services. The signing secret is
answered once, when the subscription is created (or when a change sets a new one); it is never
read back. Only superusers manage webhooks, as in the admin; anyone else gets a 403.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import BoundedJSONParser
from config.api_schema import ErrorOutput
from content.api.serializers import StrictBooleanField
from publishing.webhooks import rules
from publishing.webhooks.models import SubscriptionState, WebhookDelivery, WebhookEvent, WebhookSubscription
from publishing.webhooks.services import (
    SUBSCRIPTION_GONE, webhook_delivery_resend, webhook_subscription_create, webhook_subscription_ping,
    webhook_subscription_update, webhook_subscriptions_delete,
)
from tasks.api.serializers import RejectUnknownFieldsMixin, StrictCharField
from tasks.exceptions import NoLongerExists

DELIVERIES_SHOWN = 50  # the newest attempts of a subscription; the admin lists them all
ID = OpenApiParameter("subscription_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                      description="The subscription's id.")
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                               description="The delivery attempt's id.")


class IsSuperuser(BasePermission):
    message = "Only superusers manage webhooks."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_superuser)


def _checked(rule, value):
    try:
        return rule(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


class SubscriptionInput(RejectUnknownFieldsMixin, serializers.Serializer):
    name = StrictCharField(max_length=100, help_text="Who receives these events, for the admin list.")
    url = StrictCharField(max_length=2000, help_text="Public http(s) address that receives a POST per event.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1,
                                   max_length=len(WebhookEvent.values), help_text="The events this URL receives.")
    secret = StrictCharField(required=False, max_length=rules.SECRET_MAX_LENGTH, trim_whitespace=False,
                             help_text="Signs every delivery; omitted on creation, one is generated.")
    active = StrictBooleanField(required=False, default=True,
                                      help_text="Switching a subscription disabled after failures on again "
                                                "forgets its failures.")

    def validate_url(self, url):
        return _checked(rules.delivery_url, url)

    def validate_secret(self, secret):
        return _checked(rules.signing_secret, secret)

    def validate_events(self, events):
        return list(dict.fromkeys(events))  # each once, in the order given


class SubscriptionOutput(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=SubscriptionState.choices, read_only=True,
                                    help_text="active, disabled (after failures) or paused (by hand).")

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "active", "state", "consecutive_failures", "disabled_at",
                  "disabled_reason", "created_at", "updated_at"]


class SubscriptionWithSecretOutput(SubscriptionOutput):
    class Meta(SubscriptionOutput.Meta):
        fields = [*SubscriptionOutput.Meta.fields, "secret"]


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "event_id", "attempt", "status", "response_code", "error", "scheduled_at",
                  "started_at", "finished_at", "duration_ms", "created_at"]


def _subscription(subscription_id) -> WebhookSubscription:
    return get_object_or_404(WebhookSubscription, pk=subscription_id)  # an id past bigint finds no row (Django)


class WebhookApi(APIView):
    permission_classes = [IsAuthenticated, IsSuperuser]
    parser_classes = [BoundedJSONParser]


class SubscriptionListApi(WebhookApi):
    @extend_schema(tags=["webhooks"], summary="Webhook subscriptions (superusers)",
                   responses={200: SubscriptionOutput(many=True)})
    def get(self, request):
        return Response(SubscriptionOutput(WebhookSubscription.objects.order_by("name", "id"), many=True).data)

    @extend_schema(tags=["webhooks"], summary="Subscribe a URL to events (superusers)",
                   description="The URL passes the outbound URL guard (public addresses only). The answer holds "
                   "the signing secret, the only time it is shown.",
                   request=SubscriptionInput, responses={201: SubscriptionWithSecretOutput})
    def post(self, request):
        data = SubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(by=request.user, **data.validated_data)
        return Response(SubscriptionWithSecretOutput(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(WebhookApi):
    @extend_schema(tags=["webhooks"], summary="A webhook subscription (superusers)", parameters=[ID],
                   responses=SubscriptionOutput)
    def get(self, request, subscription_id):
        return Response(SubscriptionOutput(_subscription(subscription_id)).data)

    @extend_schema(tags=["webhooks"], summary="Change a webhook subscription (superusers)", parameters=[ID],
                   description="Only the fields given change. `active: true` on a subscription disabled after "
                   "failures switches it on again with its failures forgotten. A new `secret` is answered back.",
                   request=SubscriptionInput(partial=True), responses=SubscriptionWithSecretOutput)
    def patch(self, request, subscription_id):
        subscription = _subscription(subscription_id)
        data = SubscriptionInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {name: value for name, value in data.validated_data.items() if name in data.initial_data}
        subscription = webhook_subscription_update(subscription=subscription, **changes)
        output = SubscriptionWithSecretOutput if "secret" in changes else SubscriptionOutput
        return Response(output(subscription).data)

    @extend_schema(tags=["webhooks"], summary="Remove a webhook subscription and its attempts (superusers)",
                   parameters=[ID], responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request, subscription_id):
        if not webhook_subscriptions_delete(ids=[_subscription(subscription_id).pk]):
            raise NoLongerExists(SUBSCRIPTION_GONE)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDeliveriesApi(WebhookApi):
    @extend_schema(tags=["webhooks"], summary="A subscription's latest delivery attempts (superusers)",
                   description=f"The newest {DELIVERIES_SHOWN}, newest first; a retry is an attempt of its own "
                   "with the same `event_id`.", parameters=[ID], responses=DeliveryOutput(many=True))
    def get(self, request, subscription_id):
        attempts = _subscription(subscription_id).deliveries.order_by("-created_at", "-id")[:DELIVERIES_SHOWN]
        return Response(DeliveryOutput(attempts, many=True).data)


class SubscriptionPingApi(WebhookApi):
    @extend_schema(tags=["webhooks"], summary="Send a subscription a test event (superusers)", parameters=[ID],
                   description="A signed `ping`, sent whether the subscription is on or off, tried once and counted "
                   "neither for nor against it; its outcome shows in the deliveries.",
                   request=None, responses={202: DeliveryOutput})
    def post(self, request, subscription_id):
        ping = webhook_subscription_ping(subscription=_subscription(subscription_id), by=request.user)
        return Response(DeliveryOutput(ping).data, status=status.HTTP_202_ACCEPTED)


class DeliveryResendApi(WebhookApi):
    @extend_schema(tags=["webhooks"], summary="Send an event that ran out of attempts once more (superusers)",
                   description="The newest attempt of an event that failed or was cancelled, while its subscription "
                   "is on: a new attempt with the same event id and body, tried once. Anything else is a 409 "
                   "that says why.", parameters=[DELIVERY_ID], request=None,
                   responses={202: DeliveryOutput, 409: OpenApiResponse(
                       ErrorOutput, description="Not the newest attempt of its event, not failed or cancelled, or its "
                       "subscription is off; the message says which.")})
    def post(self, request, delivery_id):
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
        again = webhook_delivery_resend(delivery=delivery)
        return Response(DeliveryOutput(again).data, status=status.HTTP_202_ACCEPTED)
