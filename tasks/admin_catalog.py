"""The admin of the model catalog: which models a brief may name, their providers and prices."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.html import format_html

from tasks.forms import format_usd
from tasks.models import ModelCatalogEntry


class CatalogChangelistForm(forms.ModelForm):
    """The changelist edits only `enabled`, so the database's "default is enabled" rule is checked here."""

    def clean_enabled(self):
        enabled = self.cleaned_data["enabled"]
        if not enabled and self.instance.is_default:
            raise ValidationError("The default model cannot be disabled; make another model the default first.")
        return enabled


@admin.register(ModelCatalogEntry)
class ModelCatalogEntryAdmin(admin.ModelAdmin):
    list_display = (
        "name_cell",
        "provider",
        "enabled",
        "is_default",
        "price_cell",
        "context_window_cell",
    )
    list_editable = ("enabled",)
    list_filter = ("provider", "enabled")
    search_fields = ("key", "display_name", "provider_model_id")
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("key", "display_name", "enabled", "is_default")}),
        ("Provider", {"fields": ("provider", "provider_model_id", "base_url", "api_key_env")}),
        ("Prices and limits", {"fields": ("input_price_per_million", "output_price_per_million", "context_window")}),
        ("Metadata", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description="model", ordering="display_name")
    def name_cell(self, entry: ModelCatalogEntry):
        return format_html('{}<span class="cell-note">{}</span>', entry.display_name, entry.key)

    @admin.display(description="price per million tokens, in / out", ordering="input_price_per_million")
    def price_cell(self, entry: ModelCatalogEntry) -> str:
        return f"{format_usd(entry.input_price_per_million)} / {format_usd(entry.output_price_per_million)}"

    @admin.display(description="context window, tokens", ordering="context_window")
    def context_window_cell(self, entry: ModelCatalogEntry) -> str:
        return f"{entry.context_window:,}"  # "200,000", as word counts are shown

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", CatalogChangelistForm)
        return super().get_changelist_form(request, **kwargs)
