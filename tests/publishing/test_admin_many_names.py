"""The post list and the brief form with many categories and tags: the list's filters name a short
list of them (`config.admin_site.ShortRelatedFilter`) and its search finds the others; the brief
suggests the most used.

With 5,000 of each, the list was 1.2 MB and the brief form 452 kB (docs/reliability.md, row 37)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.admin_site import FILTER_CHOICES_SHOWN
from publishing.models import Category, Post, Tag
from tests.tasks.admin_support import client_for

pytestmark = pytest.mark.django_db

MANY = FILTER_CHOICES_SHOWN + 10


@pytest.fixture
def many_names(db):
    Category.objects.bulk_create(Category(name=f"Category {n:03d}", slug=f"category-{n:03d}") for n in range(MANY))
    Tag.objects.bulk_create(Tag(name=f"Tag {n:03d}", slug=f"tag-{n:03d}") for n in range(MANY))


def test_the_post_lists_filters_name_a_short_list_and_the_chosen_one(superuser, many_names):
    chosen = Category.objects.get(name=f"Category {MANY - 1:03d}")
    Post.objects.create(title="A note", slug="a-note", body="Hello.", category=chosen)

    response = client_for(superuser).get(reverse("admin:publishing_post_changelist"),
                                         {"category__id__exact": str(chosen.pk)})

    assert response.status_code == 200
    named = {spec.field_path: [name for _, name in spec.lookup_choices] for spec in response.context["cl"].filter_specs
             if hasattr(spec, "lookup_choices")}
    assert len(named["category"]) == FILTER_CHOICES_SHOWN + 1 and named["category"][-1] == chosen.name
    assert len(named["tags"]) == FILTER_CHOICES_SHOWN
    assert f"the first {FILTER_CHOICES_SHOWN} of {MANY}" in response.content.decode()
    assert [post.title for post in response.context["cl"].result_list] == ["A note"]
    searched = client_for(superuser).get(reverse("admin:publishing_post_changelist"), {"q": chosen.name})
    assert [post.title for post in searched.context["cl"].result_list] == ["A note"]


def test_the_brief_form_suggests_the_most_used_names_only(superuser):
    from publishing.admin_task_page import VOCABULARY_SHOWN

    Tag.objects.bulk_create(Tag(name=f"Tag {n:03d}", slug=f"tag-{n:03d}") for n in range(VOCABULARY_SHOWN + 10))
    used = Tag.objects.get(name=f"Tag {VOCABULARY_SHOWN + 9:03d}")  # last by name, first by use
    Post.objects.create(title="A note", slug="a-note", body="Hello.").tags.add(used)

    html = client_for(superuser).get(reverse("admin:tasks_generationtask_add")).content.decode()

    suggested = html.split('id="tags-suggestions"')[1].split("</datalist>")[0]
    assert suggested.count("<option") == VOCABULARY_SHOWN and used.name in suggested
