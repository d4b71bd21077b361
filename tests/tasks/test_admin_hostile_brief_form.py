"""The brief form against hostile bodies: what the JSON parser itself refuses (an integer of more
digits than Python converts), and a word count of hundreds of digits, are form errors with nothing
stored, never a 500."""

from __future__ import annotations

import html

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


def test_metadata_nested_deeper_than_the_api_allows_is_a_form_error_shown_as_typed(editor):
    """The admin's own task page renders the metadata recursively: what parses at 150 levels would
    be stored and then break that page, as 850 levels through the API did."""
    from tasks.validators import JSON_MAX_DEPTH

    metadata = '{"a": ' * (JSON_MAX_DEPTH + 50) + "1" + "}" * (JSON_MAX_DEPTH + 50)
    response = client_for(editor).post(reverse(TASK_ADD), brief_data(timeout_seconds="900", metadata=metadata))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["metadata"] == [f"This JSON is nested too deeply (more than {JSON_MAX_DEPTH} levels)."]
    assert html.escape(metadata) in response.content.decode()  # the textarea holds what was typed
    assert not GenerationTask.objects.exists()


def test_a_word_count_of_hundreds_of_digits_is_a_form_error(editor):
    """The form's budget check estimated it before the model refused it: an OverflowError (a 500)."""
    response = client_for(editor).post(reverse(TASK_ADD), brief_data(word_count="9" * 400))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["word_count"] == [
        "Ensure this value is less than or equal to 10000."]
    assert not GenerationTask.objects.exists()
