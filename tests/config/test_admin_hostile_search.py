"""Admin searches against a hostile `?q=`: Django ANDs one OR of every search field per word, so
2,000 words in one query string (7,000 characters) made one editor's GET of the task events list
keep PostgreSQL busy for minutes. A search reads its first SEARCH_TERMS_MAX words and says so."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.admin_site import SEARCH_TERMS_MAX
from tests.factories import make_task
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

MANY_WORDS = " ".join(f"w{number}" for number in range(2000))


def _ilikes(queries) -> int:
    return max((query["sql"].count("LIKE") for query in queries), default=0)


@pytest.mark.parametrize("changelist", [
    "admin:tasks_taskevent_changelist",
    "admin:content_contentversion_changelist",
    "admin:tasks_generationtask_changelist",
    "admin:publishing_post_changelist",
])
def test_a_search_of_thousands_of_words_reads_only_the_first_ones(editor, changelist):
    make_task(created_by=editor, topic="w1 w2 w3")

    with CaptureQueriesContext(connection) as queries:
        response = client_for(editor).get(reverse(changelist), {"q": MANY_WORDS})

    assert response.status_code == 200
    # four search fields at most per word, on every list here
    assert _ilikes(queries.captured_queries) <= 4 * SEARCH_TERMS_MAX
    assert any(f"first {SEARCH_TERMS_MAX} words" in str(m) for m in response.context["messages"])


def test_a_search_of_a_few_words_is_read_whole_and_finds_its_task(editor):
    task = make_task(created_by=editor, topic="Composting at home in a small flat")

    response = client_for(editor).get(reverse("admin:tasks_generationtask_changelist"),
                                      {"q": "composting home small flat"})

    assert [row.pk for row in response.context["cl"].result_list] == [task.pk]
    assert not any("words" in str(m) for m in response.context["messages"])


def test_an_autocomplete_of_thousands_of_words_answers(editor):
    response = client_for(editor).get(reverse("admin:autocomplete"), {
        "term": MANY_WORDS, "app_label": "content", "model_name": "contentversion", "field_name": "task"})

    assert response.status_code == 200
