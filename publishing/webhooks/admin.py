"""Webhook subscriptions and their delivery attempts in the oversight hub (superusers).

The form runs the outbound URL guard (`tasks.url_guard`) when a subscription is saved, so a
loopback, private or malformed URL, or a name resolving to such an address, is a form error, not
a row; the guard runs again, with DNS, at every send. A subscription switched off by failures
(or at once by a 410 Gone) carries a badge in the list and says so, and why, at the top of its page; a list filter finds
them, and the "Re-enable" action (or ticking Active again) switches it back on with its failure
count reset. The signing secret is shown on the add page only, as the API shows it once; a
subscription's page offers to replace it, never shows it. The list shows each subscription's newest attempt, its page the last ten; delivery
attempts are read-only history, and "Send again" queues an event that ran out of attempts once more.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timesince

from publishing.webhooks import rules
from publishing.webhooks.models import (
    PING_EVENT, DeliveryStatus, SubscriptionState, WebhookDelivery, WebhookEvent, WebhookSubscription,
    subscription_state_expression,
)
from publishing.webhooks.services import (
    SUBSCRIPTION_FIELDS, SUBSCRIPTION_GONE, ResendRefused, webhook_delivery_resend, webhook_subscription_create,
    webhook_subscription_enable, webhook_subscription_ping, webhook_subscription_update, webhook_subscriptions_delete,
)
from tasks.exceptions import NoLongerExists

RECENT_ATTEMPTS = 10  # shown on a subscription's page; the deliveries list has them all
ERROR_PREVIEW_CHARS = 120
REFUSALS_SHOWN = 5  # of a list action's refusals, in its message


def _attempts_url(subscription: WebhookSubscription) -> str:
    return f"{reverse('admin:publishing_webhookdelivery_changelist')}?subscription__id__exact={subscription.pk}"


def _when(moment, *, seconds: bool = True) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _ago(moment) -> str:
    return "just now" if timezone.now() - moment < timedelta(minutes=1) else f"{timesince(moment, depth=1)} ago"


def _breakable_url(url: str):
    """The URL with a line-break opportunity after each slash, so a narrow column breaks it there."""
    return mark_safe("/<wbr>".join(conditional_escape(part) for part in url.split("/")))


class KeptSecretField(forms.CharField):
    """A subscription's secret on its change page: never shown again (it was shown when the
    subscription was made), left empty to keep it, typed to replace it. Empty is no change, so
    the admin's history does not say "Changed Secret" for every save."""

    widget = forms.PasswordInput(render_value=False, attrs={"class": "vURLField", "autocomplete": "new-password"})

    def has_changed(self, initial, data) -> bool:
        typed = (data or "").strip()
        return bool(typed) and typed != initial


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple(attrs={"class": "radiolist"}),
        help_text="The events this URL receives.",
    )

    class Meta:
        model = WebhookSubscription
        fields = SUBSCRIPTION_FIELDS
        widgets = {  # wide enough to read a whole URL and secret
            "url": forms.TextInput(attrs={"class": "vURLField"}),
            "secret": forms.TextInput(attrs={"class": "vURLField", "autocomplete": "off", "spellcheck": "false"}),
        }
        help_texts = {
            "active": "Events are delivered only while this is ticked. Ticking it on a subscription disabled "
                      "after failures switches it back on with its failure count reset.",
        }

    def clean_url(self):
        return rules.delivery_url(self.cleaned_data.get("url"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["secret"] = KeptSecretField(
                required=False, label="Secret",
                help_text=f"Shown only when the subscription was made; it ends in “…{self.instance.secret[-4:]}”. "
                          "Leave empty to keep it, or type a new one to replace it (and give the receiver the same).",
            )
        else:
            self.fields["secret"].help_text = ("Signs every delivery. Copy it now into the receiver's configuration: "
                                               "once saved, it is not shown again.")

    def clean_secret(self):
        secret = self.cleaned_data.get("secret")
        if self.instance.pk is not None and not (secret or "").strip():
            return self.instance.secret  # left empty: kept
        return rules.signing_secret(secret)

    def clean_events(self):
        return list(dict.fromkeys(self.cleaned_data.get("events") or []))  # each once, as the API keeps them

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("active") and self.instance.disabled_at is not None:
            # Ticking Active again is re-enabling: it forgets the failures, as the action does.
            self.instance.disabled_at = None
            self.instance.disabled_reason = ""
            self.instance.consecutive_failures = 0
        return cleaned


class SubscriptionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return SubscriptionState.choices

    def queryset(self, request, queryset):
        if self.value() in SubscriptionState.values:
            return queryset.alias(state_now=subscription_state_expression()).filter(state_now=self.value())
        return queryset


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("name_cell", "event_list", "state", "last_attempt")
    list_filter = (SubscriptionStateFilter, "created_at")
    search_fields = ("name", "url")
    readonly_fields = ("state", "consecutive_failures", "disabled_reason", "recent_attempts", "created_by",
                       "created_at", "updated_at")
    actions = ("reenable", "ping")

    class Media:
        css = {"all": ("publishing/webhooks-admin.css",)}

    def get_fieldsets(self, request, obj=None):
        receiver = (None, {"fields": SUBSCRIPTION_FIELDS})
        if obj is None:
            return (receiver,)
        # A subscription switched off by failures says so, and why, before anything else.
        health = ("Delivery health", {"fields": ("state", "consecutive_failures", "disabled_reason", "recent_attempts")})
        record = ("Record", {"fields": ("created_by", "created_at", "updated_at")})
        return (health, receiver, record) if obj.disabled_at is not None else (receiver, health, record)

    def get_queryset(self, request):
        latest = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by("-created_at", "-id")
        return super().get_queryset(request).annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_response_code=Subquery(latest.values("response_code")[:1]),
            last_attempted_at=Subquery(latest.values("created_at")[:1]),
            last_event=Subquery(latest.values("event")[:1]),
        )

    @admin.display(description="subscription", ordering="name")
    def name_cell(self, obj):
        return format_html('{}<span class="webhook-url">{}</span>', obj.name, _breakable_url(obj.url))

    @admin.display(description="Events")
    def event_list(self, obj) -> str:
        return ", ".join(obj.events)

    @admin.display(description="State")
    def state(self, obj):
        if obj.state == SubscriptionState.DISABLED:
            return format_html(
                '<span class="webhook-state webhook-state--disabled"><img src="{}" alt=""> '
                '<strong>{}</strong><span class="webhook-note">since {}</span></span>',
                static("admin/img/icon-alert.svg"), SubscriptionState.DISABLED.label,
                _when(obj.disabled_at, seconds=False))
        if obj.state == SubscriptionState.PAUSED:
            return format_html('<span class="webhook-state"><img src="{}" alt=""> {}</span>',
                               static("admin/img/icon-no.svg"), SubscriptionState.PAUSED.label)
        failing = (format_html('<span class="webhook-note">{} failed in a row</span>', obj.consecutive_failures)
                   if obj.consecutive_failures else "")
        return format_html('<span class="webhook-state"><img src="{}" alt=""> Active{}</span>',
                           static("admin/img/icon-yes.svg"), failing)

    @admin.display(description="last attempt")
    def last_attempt(self, obj):
        """The newest attempt's outcome and age, linking to all of this subscription's attempts."""
        if obj.last_status is None:
            return "—"
        outcome = DeliveryStatus(obj.last_status).label
        if obj.last_response_code is not None:
            outcome = f"{outcome} · HTTP {obj.last_response_code}"
        # A ping is a test: it counts neither for nor against the subscription, which may be
        # "Active" with no failures while its newest attempt, a ping, failed.
        note = _ago(obj.last_attempted_at) + (" · a ping, not counted" if obj.last_event == PING_EVENT else "")
        return format_html(
            '<a class="webhook-outcome webhook-outcome--{}" href="{}">{}</a><span class="webhook-note">{}</span>',
            obj.last_status, _attempts_url(obj), outcome, note)

    @admin.display(description="recent attempts")
    def recent_attempts(self, obj):
        attempts = list(obj.deliveries.order_by("-created_at", "-id")[:RECENT_ATTEMPTS])
        if not attempts:
            return "None yet."
        rows = format_html_join("", (
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
            '<td class="webhook-outcome webhook-outcome--{}">{}</td><td>{}</td><td>{}</td></tr>'
        ), (
            (reverse("admin:publishing_webhookdelivery_change", args=[attempt.pk]),
             _when(attempt.created_at), attempt.event, attempt.attempt,
             attempt.status, attempt.get_status_display(),
             "—" if attempt.response_code is None else attempt.response_code,
             Truncator(attempt.error).chars(ERROR_PREVIEW_CHARS) or "—")
            for attempt in attempts
        ))
        return format_html(
            '<table class="webhook-attempts"><thead><tr><th>attempted</th><th>event</th><th>attempt</th>'
            '<th>status</th><th>response</th><th>error</th></tr></thead><tbody>{}</tbody></table>'
            '<p><a href="{}">All attempts of this subscription</a></p>',
            rows, _attempts_url(obj))

    def save_model(self, request, obj, form, change):
        # Through the services, as the API writes: on a change only what the form changed, so a
        # failure recorded while this page was open is not undone (webhook_subscription_update).
        if not change:
            saved = webhook_subscription_create(by=request.user, **{
                name: form.cleaned_data[name] for name in SUBSCRIPTION_FIELDS})
            obj.pk, obj._state.adding = saved.pk, False
            return
        webhook_subscription_update(subscription=obj, **{
            name: form.cleaned_data[name] for name in form.changed_data if name in SUBSCRIPTION_FIELDS})

    # Deleting goes through the service too, as the API's does: it waits for an event's attempts
    # being recorded for the subscription and deletes them with it (`webhook_subscriptions_delete`).
    def delete_model(self, request, obj):
        if not webhook_subscriptions_delete(ids=[obj.pk]):
            raise NoLongerExists(SUBSCRIPTION_GONE)

    def delete_queryset(self, request, queryset):
        webhook_subscriptions_delete(ids=queryset.values_list("pk", flat=True))

    def _each_still_there(self, request, queryset, verb) -> int:
        """`verb(subscription)` for each selected subscription; one another admin deleted meanwhile
        is a warning naming it, and the others go on. How many were done."""
        count = 0
        for subscription in queryset:
            try:
                verb(subscription)
            except NoLongerExists as gone:
                self.message_user(request, f"{subscription}: {gone}", messages.WARNING)
            else:
                count += 1
        return count

    @admin.action(description="Send a test event (ping)")
    def ping(self, request, queryset):
        count = self._each_still_there(request, queryset, lambda subscription: webhook_subscription_ping(
            subscription=subscription, by=request.user))
        self.message_user(
            request,
            format_html('Test event queued for {} subscription{}: its outcome shows in the list within seconds, '
                        'every attempt under <a href="{}">Webhook deliveries</a>.', count, "s" if count != 1 else "",
                        reverse("admin:publishing_webhookdelivery_changelist")),
            messages.SUCCESS,
        )

    @admin.action(description="Re-enable and reset the failure count")
    def reenable(self, request, queryset):
        count = self._each_still_there(
            request, queryset, lambda subscription: webhook_subscription_enable(subscription=subscription))
        self.message_user(request, f"Re-enabled {count} subscription{'s' if count != 1 else ''}.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every attempt of every delivery: read-only history."""

    list_display = ("attempted", "event_name", "subscription", "outcome", "duration")
    list_filter = ("status", "event", "subscription", "created_at")
    search_fields = ("event_id", "subscription__name")
    list_select_related = ("subscription",)
    fields = ("subscription", "event", "event_id", "task_link", "attempt", "status", "response_code", "error",
              "scheduled_at", "started_at", "finished_at", "duration", "created_at", "payload_json")

    actions = ("resend",)

    class Media:
        css = {"all": ("publishing/webhooks-admin.css",)}

    def has_resend_permission(self, request) -> bool:
        return request.user.is_superuser  # whoever manages the subscriptions

    @admin.action(description="Send again (after the receiver was fixed)", permissions=["resend"])
    def resend(self, request, queryset):
        sent, refusals = 0, []
        for delivery in queryset.select_related("subscription"):
            try:
                webhook_delivery_resend(delivery=delivery)
            except (ResendRefused, NoLongerExists) as refusal:
                refusals.append(str(refusal))
            else:
                sent += 1
        if sent:
            self.message_user(request, f"Sent again: {sent} attempt{'s' if sent != 1 else ''} queued.", messages.SUCCESS)
        if refusals:
            more = f" And {len(refusals) - REFUSALS_SHOWN} more." if len(refusals) > REFUSALS_SHOWN else ""
            self.message_user(request, "Not sent again. " + " ".join(refusals[:REFUSALS_SHOWN]) + more,
                              messages.WARNING)

    @admin.display(description="attempted", ordering="created_at")
    def attempted(self, delivery: WebhookDelivery) -> str:
        return _when(delivery.created_at)

    @admin.display(description="event", ordering="event")
    def event_name(self, delivery: WebhookDelivery):
        return format_html('{}<span class="webhook-note">attempt {}</span>', delivery.event, delivery.attempt)

    @admin.display(description="outcome", ordering="status")
    def outcome(self, delivery: WebhookDelivery):
        """Status and response code, over the start of the error (or, while pending, when it is due)."""
        code = "" if delivery.response_code is None else f" · HTTP {delivery.response_code}"
        if delivery.error:
            note = format_html('<span class="webhook-note">{}</span>',
                               Truncator(delivery.error).chars(ERROR_PREVIEW_CHARS))
        elif delivery.status == DeliveryStatus.PENDING:
            note = format_html('<span class="webhook-note">due {}</span>', _when(delivery.scheduled_at))
        else:
            note = ""
        return format_html('<span class="webhook-outcome webhook-outcome--{}">{}{}</span>{}',
                           delivery.status, delivery.get_status_display(), code, note)

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, delivery: WebhookDelivery) -> str:
        return "—" if delivery.duration_ms is None else f"{delivery.duration_ms:,} ms"

    @admin.display(description="task")
    def task_link(self, delivery: WebhookDelivery):
        """The task the event is about, from the body that was sent (the task may be gone since)."""
        task = delivery.payload.get("task") if isinstance(delivery.payload, dict) else None
        task_id = task.get("id") if isinstance(task, dict) else None
        if not isinstance(task_id, str):
            return "—"
        try:
            url = reverse("admin:tasks_generationtask_change", args=[task_id])
        except NoReverseMatch:
            return task_id
        return format_html('<a href="{}">{}</a>', url, task_id)

    @admin.display(description="payload")
    def payload_json(self, delivery: WebhookDelivery):
        """The body as sent (keys in the order PostgreSQL keeps them), indented to be read."""
        return format_html('<pre class="webhook-payload">{}</pre>',
                           json.dumps(delivery.payload, indent=2, ensure_ascii=False))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
