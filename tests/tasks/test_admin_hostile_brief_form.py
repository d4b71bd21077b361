"""The brief form against hostile bodies: what the JSON parser itself refuses (an integer of more
digits than Python converts) is a form error with nothing stored, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks.models import GenerationTask
from tests.tasks.admin_support import brief_data, client_for

pytestmark = pytest.mark.django_db

TASK_ADD = "admin:tasks_generationtask_add"
TOO_MANY_DIGITS = "9" * 5000  # past Python's 4,300-digit limit for converting text to int


@pytest.mark.parametrize("metadata", [
    TOO_MANY_DIGITS,
    '{"note": ' + TOO_MANY_DIGITS + "}",
    '{"research": {"urls": [], "text": "x"}, "n": [' + TOO_MANY_DIGITS + "]}",
])
def test_metadata_with_an_integer_too_long_to_read_is_a_form_error(editor, metadata):
    response = client_for(editor).post(reverse(TASK_ADD), brief_data(timeout_seconds="900", metadata=metadata))

    assert response.status_code == 200
    assert "metadata" in response.context["adminform"].form.errors
    assert not GenerationTask.objects.exists()


@pytest.mark.parametrize("url", ["https://example.com:0/notes", "https://xn--/", "https://exa mple.com/"])
def test_a_source_url_no_fetch_could_reach_is_a_form_error(editor, url):
    response = client_for(editor).post(reverse(TASK_ADD), brief_data(timeout_seconds="900", metadata="{}",
                                                                      source_urls=url))

    assert response.status_code == 200
    assert "source_urls" in response.context["adminform"].form.errors
    assert not GenerationTask.objects.exists()
