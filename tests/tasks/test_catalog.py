"""The model catalog refuses entries whose provider could never be reached: in `clean()` (and so the
admin form) and in the database. An OpenAI-compatible entry needs a base URL; any base URL is http(s)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tasks.models import ModelCatalogEntry
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db


def entry(**fields) -> ModelCatalogEntry:
    return ModelCatalogEntry(**{"key": "house-llm", "display_name": "House LLM", "provider": "openai_compatible",
                                "base_url": "https://llm.example.com/v1", **fields})


@pytest.mark.parametrize("base_url, message", [
    ("", "needs the API root of its server"),
    ("ftp://llm.example.com/v1", "Enter a valid URL"),
    ("http://127.0.0.1:99999/v1", "not a valid URL"),
])
def test_an_openai_compatible_entry_without_a_usable_base_url_is_refused(base_url, message):
    with pytest.raises(ValidationError) as caught:
        entry(base_url=base_url).full_clean()
    assert message in " ".join(caught.value.message_dict["base_url"])
    if not base_url:  # Anthropic has a default server (api.anthropic.com); the offline writer needs none
        entry(provider="anthropic", base_url="").full_clean()
        entry(provider="offline", base_url="").full_clean()


@pytest.mark.parametrize("fields", [
    {"base_url": ""},
    {"base_url": "ftp://llm.example.com/v1"},
    {"base_url": "llm.example.com/v1"},
    {"provider": "anthropic", "base_url": "file:///etc/passwd"},
])
def test_the_database_refuses_an_unusable_base_url_too(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        entry(**fields).save()


def test_the_admin_form_refuses_an_openai_compatible_entry_without_a_base_url(superuser):
    data = {"key": "house-llm", "display_name": "House LLM", "provider": "openai_compatible",
            "provider_model_id": "house", "base_url": "", "api_key_env": "", "input_price_per_million": "0",
            "output_price_per_million": "0", "context_window": "8192", "enabled": "on"}
    response = client_for(superuser).post(reverse("admin:tasks_modelcatalogentry_add"), data)
    assert response.status_code == 200
    assert "needs the API root of its server" in response.content.decode()
    assert not ModelCatalogEntry.objects.filter(key="house-llm").exists()
    data["base_url"] = "http://127.0.0.1:11434/v1"
    response = client_for(superuser).post(reverse("admin:tasks_modelcatalogentry_add"), data)
    assert response.status_code == 302 and ModelCatalogEntry.objects.filter(key="house-llm").exists()


def test_the_bulk_delete_of_the_catalog_speaks_of_entries(superuser):
    response = client_for(superuser).get(reverse("admin:tasks_modelcatalogentry_changelist"))
    choices = dict(response.context["action_form"].fields["action"].choices)
    assert choices["delete_selected"] == "Delete selected model catalog entries"


def test_the_catalog_list_shows_context_windows_with_thousands_separators(superuser):
    ModelCatalogEntry.objects.filter(key="offline").update(context_window=200000)

    html = client_for(superuser).get(reverse("admin:tasks_modelcatalogentry_changelist")).content.decode()

    assert '<td class="field-context_window_cell">200,000</td>' in html and ">200000<" not in html
