"""Webhook subscriptions and their delivery attempts in the oversight hub (superusers).

The form runs the outbound URL guard (`tasks.url_guard`) when a subscription is saved, so a
loopback, private or malformed URL, or a name resolving to such an address, is a form error, not
a row; the guard runs again, with DNS, at every send. A subscription switched off by failures carries a badge in the list, a list
filter finds them, and the "Re-enable" action (or ticking Active again) switches it back on with
its failure count reset. Delivery attempts are read-only history.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.templatetags.static import static
from django.utils.html import format_html

from publishing.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from publishing.webhooks.services import webhook_subscription_enable
from tasks import url_guard
from tasks.exceptions import TransientError

SECRET_MIN_LENGTH = 16


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="The events this URL receives.")

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "events", "secret", "active")

    def clean_url(self):
        """The guard's rule, and its DNS lookup when the name resolves now: a name pointing at a
        private address is refused here already. A lookup that fails is not an error yet (the
        receiver may not be online); the guard runs again, with DNS, at every send."""
        url = self.cleaned_data.get("url") or ""
        try:
            url = url_guard.check_url(url)
            url_guard.public_addresses(url)
        except ValidationError as error:
            raise ValidationError(error.messages[0].replace("Refusing to fetch", "Refusing to deliver to")) from None
        except TransientError:
            pass
        return url

    def clean_secret(self):
        secret = (self.cleaned_data.get("secret") or "").strip()
        if len(secret) < SECRET_MIN_LENGTH:
            raise ValidationError(f"Use a secret of at least {SECRET_MIN_LENGTH} characters (or keep the generated one).")
        if not secret.isprintable() or any(character.isspace() for character in secret):
            raise ValidationError("The secret may hold printable characters only, without spaces.")
        return secret

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
        return [("active", "Active"), ("disabled", "Disabled after failures"), ("paused", "Switched off by hand")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(active=True)
        if self.value() == "disabled":
            return queryset.filter(disabled_at__isnull=False)
        if self.value() == "paused":
            return queryset.filter(active=False, disabled_at__isnull=True)
        return queryset


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("name", "url", "event_list", "state", "consecutive_failures", "updated_at")
    list_filter = (SubscriptionStateFilter, "created_at")
    search_fields = ("name", "url")
    readonly_fields = ("consecutive_failures", "disabled_at", "disabled_reason", "created_by", "created_at",
                       "updated_at")
    actions = ("reenable",)

    def get_fields(self, request, obj=None):
        return ("name", "url", "events", "secret", "active", *self.readonly_fields)

    @admin.display(description="Events")
    def event_list(self, obj) -> str:
        return ", ".join(obj.events)

    @admin.display(description="State")
    def state(self, obj):
        if obj.disabled_at is not None:
            return format_html('<img src="{}" alt=""> <strong>Disabled after failures</strong> since {}',
                               static("admin/img/icon-alert.svg"), f"{obj.disabled_at:%Y-%m-%d %H:%M}")
        if not obj.active:
            return format_html('<img src="{}" alt=""> Switched off', static("admin/img/icon-no.svg"))
        return format_html('<img src="{}" alt=""> Active', static("admin/img/icon-yes.svg"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            return
        # The failure state (count, when and why disabled) is the delivery jobs' to write: a failure
        # recorded while this page was open (or its URL's DNS lookup ran) must not be undone by
        # writing back the copy the page loaded. Only what the form changed is written, and the
        # failure state only when ticking Active again re-enabled the subscription (form.clean).
        fields = [name for name in form.changed_data if name in WebhookSubscriptionForm.Meta.fields]
        if "active" in fields and obj.active:
            fields += ["consecutive_failures", "disabled_at", "disabled_reason"]
        if fields:
            obj.save(update_fields=[*fields, "updated_at"])

    @admin.action(description="Re-enable and reset the failure count")
    def reenable(self, request, queryset):
        count = 0
        for subscription in queryset:
            webhook_subscription_enable(subscription=subscription)
            count += 1
        self.message_user(request, f"Re-enabled {count} subscription{'s' if count != 1 else ''}.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every attempt of every delivery: read-only history."""

    list_display = ("created_at", "event", "subscription", "attempt", "status", "response_code", "duration_ms",
                    "error")
    list_filter = ("status", "event", "subscription", "created_at")
    search_fields = ("event_id", "subscription__name")
    list_select_related = ("subscription",)
    fields = ("subscription", "event", "event_id", "attempt", "status", "response_code", "error", "scheduled_at",
              "started_at", "finished_at", "duration_ms", "created_at", "payload")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
