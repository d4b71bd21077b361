"""The blog pages of the oversight hub: editors write drafts, only publishers set `published_at`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from publishing.models import Category, Post, Tag
from tests.factories import make_task

pytestmark = pytest.mark.django_db

PUBLISH_DATE, PUBLISH_TIME = "2025-03-04", "09:30:00"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post_form(**overrides) -> dict:
    """POST data of the post form, asking to publish it at PUBLISH_DATE PUBLISH_TIME."""
    data = {
        "title": "Rust for Python programmers",
        "slug": "rust-for-python-programmers",
        "category": "",
        "excerpt": "",
        "body": "# Hello\n\nSome *text*.",
        "body_html": "<script>alert(1)</script>",
        "published_at_0": PUBLISH_DATE,
        "published_at_1": PUBLISH_TIME,
        "task": "",
        "version": "",
    }
    data.update(overrides)
    return data


def _make_post(**fields) -> Post:
    fields.setdefault("title", "A draft")
    fields.setdefault("slug", "a-draft")
    fields.setdefault("body", "Draft body.")
    return Post.objects.create(**fields)


def _changelist_rows(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("model_name", ["post", "category", "tag"])
def test_publishing_admin_pages_answer_200_for_a_superuser_even_with_a_search_and_filters(superuser, model_name):
    category = Category.objects.create(name="Programming", slug="programming")
    tag = Tag.objects.create(name="Rust", slug="rust")
    post = _make_post(category=category, published_at=timezone.now() - timedelta(days=1))
    post.tags.add(tag)
    client = _client(superuser)
    changelist = reverse(f"admin:publishing_{model_name}_changelist")
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    filters = {
        "post": [
            {"q": "x", "category__id__exact": str(category.pk), "tags__id__exact": str(tag.pk)},
            {"q": "draft", "published_at__gte": str(today - timedelta(days=7))},
            {"published_at__isnull": "True"},
        ],
        "category": [{"q": "x"}],
        "tag": [{"q": "x"}],
    }

    assert client.get(changelist).status_code == 200
    assert client.get(reverse(f"admin:publishing_{model_name}_add")).status_code == 200
    row = {"post": post, "category": category, "tag": tag}[model_name]
    assert client.get(reverse(f"admin:publishing_{model_name}_change", args=[row.pk])).status_code == 200
    for query in filters[model_name]:
        response = client.get(changelist, query)
        # An unknown filter parameter would redirect to `?e=1` instead.
        assert response.status_code == 200, query


def test_post_changelist_shows_whether_a_post_is_public(superuser):
    _make_post(title="Live", slug="live", published_at=timezone.now() - timedelta(hours=1))
    _make_post(title="Scheduled", slug="scheduled", published_at=timezone.now() + timedelta(days=1))
    _make_post(title="Draft", slug="draft")

    response = _client(superuser).get(reverse("admin:publishing_post_changelist"))

    page = response.content.decode()
    assert page.count("icon-yes.svg") == 1
    assert page.count("icon-no.svg") == 2


def test_editor_can_write_a_draft_but_not_publish_it(editor):
    response = _client(editor).post(reverse("admin:publishing_post_add"), _post_form())

    assert response.status_code == 302
    post = Post.objects.get()
    assert post.title == "Rust for Python programmers"
    assert post.published_at is None
    assert "<script>" not in post.body_html
    assert "<em>text</em>" in post.body_html


def test_editor_cannot_publish_an_existing_draft(editor):
    draft = _make_post()

    response = _client(editor).post(
        reverse("admin:publishing_post_change", args=[draft.pk]), _post_form(title="Edited draft", slug="a-draft")
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Edited draft"
    assert draft.published_at is None
    assert not draft.is_public


def test_editor_cannot_unpublish_or_reschedule_a_published_post(editor):
    published_at = timezone.now() - timedelta(days=2)
    post = _make_post(published_at=published_at)
    client = _client(editor)
    url = reverse("admin:publishing_post_change", args=[post.pk])

    assert "published_at" not in client.get(url).context["adminform"].form.fields
    client.post(url, _post_form(slug="a-draft", published_at_0="", published_at_1=""))
    client.post(url, _post_form(slug="a-draft", published_at_0="2099-01-01", published_at_1="00:00:00"))

    post.refresh_from_db()
    assert post.published_at == published_at


def test_reviewer_can_publish_a_draft(reviewer):
    draft = _make_post()

    response = _client(reviewer).post(
        reverse("admin:publishing_post_change", args=[draft.pk]), _post_form(slug="a-draft")
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert timezone.localtime(draft.published_at).strftime("%Y-%m-%d %H:%M:%S") == f"{PUBLISH_DATE} {PUBLISH_TIME}"
    assert draft.is_public


def test_reviewer_can_unpublish_a_post(reviewer):
    post = _make_post(published_at=timezone.now() - timedelta(days=2))

    response = _client(reviewer).post(
        reverse("admin:publishing_post_change", args=[post.pk]),
        _post_form(slug="a-draft", published_at_0="", published_at_1=""),
    )

    assert response.status_code == 302
    post.refresh_from_db()
    assert post.published_at is None


def test_post_page_shows_the_derived_html_read_only(superuser):
    post = _make_post(body="## Section\n\n<script>alert(1)</script>")

    response = _client(superuser).get(reverse("admin:publishing_post_change", args=[post.pk]))

    assert "body_html" not in response.context["adminform"].form.fields
    page = response.content.decode()
    assert "<h2>Section</h2>" in page
    assert "<script>alert(1)</script>" not in page


def test_editor_cannot_delete_a_post(editor):
    post = _make_post()

    response = _client(editor).post(reverse("admin:publishing_post_delete", args=[post.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Post.objects.filter(pk=post.pk).exists()


def test_task_autocomplete_on_a_post_offers_an_editor_only_their_own_tasks(editor, other_editor):
    own = make_task(created_by=editor, topic="Rust ownership")
    make_task(created_by=other_editor, topic="Rust lifetimes")

    response = _client(editor).get(
        reverse("admin:autocomplete"),
        {"app_label": "publishing", "model_name": "post", "field_name": "task", "term": "Rust"},
    )

    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(own.pk)]


def test_editor_can_add_tags_but_not_categories(editor):
    client = _client(editor)

    tag = client.post(reverse("admin:publishing_tag_add"), {"name": "Rust", "slug": "rust"})
    category = client.post(reverse("admin:publishing_category_add"), {"name": "Programming", "slug": "programming"})

    assert tag.status_code == 302
    assert Tag.objects.filter(slug="rust").exists()
    assert category.status_code == 403
    assert not Category.objects.exists()


def test_a_post_made_from_a_task_is_read_only_in_the_admin(editor, reviewer):
    from content.services.review import task_approve
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    url = reverse("admin:publishing_post_change", args=[post.pk])
    for user in (editor, reviewer):
        response = _client(user).post(url, _post_form(slug="hijacked", title="Hijacked"))
        assert response.status_code == 403
    post.refresh_from_db()
    assert (post.title, post.slug) == ("Composting at home", "composting-at-home")
    assert "Save" not in _client(reviewer).get(url).content.decode()


def test_editor_changing_a_public_hand_written_post_is_refused_with_a_message(editor):
    post = _make_post(published_at=timezone.now() - timedelta(days=1))
    response = _client(editor).post(reverse("admin:publishing_post_change", args=[post.pk]),
                                    _post_form(slug=post.slug, title="Changed by an editor"))
    assert response.status_code == 200
    assert "Only holders of the publish permission" in response.content.decode()
    post.refresh_from_db()
    assert post.title != "Changed by an editor"


def test_every_change_of_a_hand_written_post_is_recorded(reviewer):
    from publishing.models import PostChange

    draft = _make_post()
    _client(reviewer).post(reverse("admin:publishing_post_change", args=[draft.pk]), _post_form(slug="a-draft"))
    change = PostChange.objects.get()
    assert (change.kind, change.actor, change.post_id) == ("published", reviewer, draft.pk)


def _task_action(user, task, verb: str, data=None):
    return _client(user).post(reverse("admin:tasks_generationtask_action", args=[task.pk, verb]), data or {},
                              follow=True)


def test_the_task_page_publishes_schedules_and_unpublishes_through_the_verbs(editor, reviewer):
    from content.models import ApprovalEvent
    from content.services.review import task_approve
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    page = _client(reviewer).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()
    assert 'data-verb="publish"' not in page, "nothing to publish before an approval"
    task_approve(task=task, by=reviewer)
    assert 'data-verb="publish"' not in _client(editor).get(
        reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    response = _task_action(reviewer, task, "publish")
    assert any(m.level_tag == "success" for m in response.context["messages"])
    assert Post.objects.published().get(task=task).slug == "composting-at-home"

    _task_action(reviewer, task, "unpublish", {"unpublish-reason": "Embargo."})
    assert not Post.objects.published().exists()
    later = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    _task_action(reviewer, task, "schedule", {"schedule-at": later})
    post = Post.objects.get(task=task)
    assert post.is_scheduled and timezone.localtime(post.published_at).strftime("%Y-%m-%dT%H:%M") == later
    assert list(ApprovalEvent.objects.filter(task=task).order_by("created_at").values_list("decision", flat=True)) == [
        "approved", "published", "unpublished", "scheduled"]


def test_the_task_page_says_a_scheduled_post_is_not_on_the_blog_yet(editor, reviewer, settings):
    """Found by a date sweep: a post scheduled for next month was described as "On the blog at
    /posts/…/ since <next month>" beside "Publish now", while the blog did not show it."""
    from django.utils.html import strip_tags

    from content.services.review import task_approve
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    settings.TIME_ZONE = "Europe/Berlin"
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    at = timezone.now() + timedelta(days=30)
    task_publish(task=task, by=reviewer, at=at)

    page = strip_tags(_client(reviewer).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode())

    assert "On the blog at" not in page and "Republish now" not in page
    assert (f"Scheduled to go live at /posts/composting-at-home/ on "
            f"{timezone.localtime(at):%Y-%m-%d %H:%M}.") in " ".join(page.split())


def test_an_editor_posting_the_publish_form_gets_an_error_and_nothing_is_published(editor, reviewer):
    from content.services.review import task_approve
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    response = _task_action(editor, task, "publish")
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert not Post.objects.exists()


def test_a_refused_schedule_is_shown_again_with_the_time_typed_and_the_error_beside_it(editor, reviewer):
    import re

    from content.services.review import task_approve
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    past = timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = _client(reviewer).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "schedule"]),
                                      {"schedule-at": past})

    assert response.status_code == 200
    form = re.search(r'<form [^>]*data-verb="schedule">.*?</form>', response.content.decode(), re.S).group(0)
    assert f'name="schedule-at" value="{past}"' in form
    assert "Choose a time in the future, or publish now." in form
    assert not Post.objects.exists()
    brief_form = re.search(r'<form [^>]*id="generationtask_form"[^>]*>', response.content.decode()).group(0)
    assert f'action="{reverse("admin:tasks_generationtask_change", args=[task.pk])}"' in brief_form


@pytest.mark.django_db(transaction=True)
def test_a_category_added_while_a_publication_creates_the_same_name_is_a_message_not_a_500(superuser):
    # Another session (a publication) holds the publications' name lock and has inserted "Gardening"
    # without committing yet. The admin's form finds the name free; its save waits for the lock and,
    # once the other commits, finds the name taken: a message. Before, it did not take the lock, its
    # INSERT waited on the unique key instead and failed with an IntegrityError (a 500).
    import threading
    import time

    import psycopg

    from config.locks import PUBLIC_NAMES
    from tests import processes

    other = psycopg.connect(processes.test_database_url())
    other.execute("SELECT pg_advisory_xact_lock(%s, 0)", [PUBLIC_NAMES])
    other.execute("INSERT INTO publishing_category (id, name, slug, description) "
                  "VALUES (gen_random_uuid(), 'Gardening', 'gardening', '')")
    answers = []

    def add_in_the_admin():
        try:
            answers.append(_client(superuser).post(reverse("admin:publishing_category_add"),
                                                   {"name": "Gardening", "slug": "gardening"}, follow=True))
        finally:
            from django.db import connection

            connection.close()

    admin_request = threading.Thread(target=add_in_the_admin)
    try:
        admin_request.start()
        deadline = time.monotonic() + 10
        waiting = 0
        while not waiting and time.monotonic() < deadline:  # until the admin's save waits on something
            time.sleep(0.05)
            waiting = other.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]
        other.commit()
    finally:
        other.close()
        admin_request.join(30)

    [response] = answers
    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        "A category with this name or slug was created meanwhile; nothing was saved."]
    assert list(Category.objects.values_list("name", flat=True)) == ["Gardening"]


def test_the_search_result_preview_shows_the_address_of_the_tasks_post_not_a_later_versions_slug(editor, reviewer):
    """A published task keeps its post's address; a later version's SEO slug would be a dead link."""
    from content.services.review import task_approve
    from content.services.versions import version_create
    from publishing.services.posts import task_publish
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    task_publish(task=task, by=reviewer)
    newer = version_create(task=task, phase="format", title="Composting at home, revised", body="Revised.",
                           seo={"slug": "composting-at-home-revised", "seo_title": "Composting, revised",
                                "meta_description": "Revised."})
    for url in (reverse("admin:tasks_generationtask_change", args=[task.pk]),
                reverse("admin:content_contentversion_change", args=[newer.pk])):
        page = _client(reviewer).get(url).content.decode()
        assert '<div class="article-preview__seo-url">/posts/composting-at-home/</div>' in page, url
        assert "/posts/composting-at-home-revised/" not in page, url



def test_a_posts_preview_is_styled_as_the_article_not_the_admin(superuser):
    post = Post.objects.create(title="Styled", slug="styled", body="Intro.\n\n## A section\n\nText.")
    client = Client()
    client.force_login(superuser)

    page = client.get(reverse("admin:publishing_post_change", args=[post.pk])).content.decode()

    assert 'href="/static/tasks/task-admin.css"' in page
    assert re.search(r'<div class="article-preview">.*<h2[^>]*>A section</h2>', page, re.S)
