"""The history pages of the oversight hub: versions and the audit trail can be read, never rewritten."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from content.formatting import format_article
from content.models import ApprovalEvent, ContentVersion
from tasks.models import GenerationTask, TaskEvent
from tests.factories import make_task, make_version

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _approval(task, *, actor=None, version=None, **fields) -> ApprovalEvent:
    fields.setdefault("decision", "rejected")
    fields.setdefault("feedback", "The introduction repeats the title.")
    fields.setdefault("reasons", ["quality", "length"])
    return ApprovalEvent.objects.create(task=task, version=version, actor=actor, **fields)


def _changelist_rows(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("model_name", ["contentversion", "approvalevent"])
def test_history_changelists_answer_200_for_a_superuser_even_with_a_search_and_filters(superuser, model_name):
    task = make_task(topic="Searchable topic")
    version = make_version(task, model_key="offline")
    _approval(task, version=version, actor=superuser)
    client = _client(superuser)
    url = reverse(f"admin:content_{model_name}_changelist")
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    queries = {
        "contentversion": [{"q": "x", "phase__exact": "draft", "model_key": "offline"}, {"q": "Searchable"}],
        "approvalevent": [
            {"q": "x", "decision__exact": "approved", "created_at__gte": str(today)},
            {"q": "root", "created_at__year": str(today.year)},
        ],
    }

    assert client.get(url).status_code == 200
    for query in queries[model_name]:
        response = client.get(url, query)
        # An unknown filter parameter would redirect to `?e=1` instead.
        assert response.status_code == 200, query
    assert len(_changelist_rows(client.get(url, queries[model_name][1]))) == 1


@pytest.mark.parametrize("model_name", ["contentversion", "approvalevent"])
def test_history_cannot_be_added_through_the_admin_even_by_a_superuser(superuser, model_name):
    response = _client(superuser).get(reverse(f"admin:content_{model_name}_add"))

    assert response.status_code == 403


def test_version_page_shows_the_body_once_rendered_with_the_markdown_on_demand(superuser):
    version = make_version(
        make_task(), body="## Why Rust\n\nIt is *fast*.\n\n<script>alert(1)</script>", quality_report={"score": 81}
    )

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    article = re.search(r'<article class="article-preview".*?</article>', page, re.S).group(0)
    assert "<h2>Why Rust</h2>" in article
    assert "<em>fast</em>" in article
    assert page.count("<em>fast</em>") == 1, "the body is rendered once"
    assert re.search(r"<details[^>]*><summary>Markdown</summary><pre>## Why Rust", article)
    assert "<script>alert(1)</script>" not in page
    assert "&quot;score&quot;" not in page, "no raw JSON"


def test_version_page_links_only_http_sources_and_skips_entries_that_are_not_sources(superuser):
    # A stored `javascript:` URL was printed as a link on the task and version pages.
    version = make_version(make_task(), body="It is *fast* [1].", sources=[
        {"number": 1, "title": "Guide", "url": "https://example.org/guide"},
        {"number": 2, "title": "Trap", "url": "javascript:alert(1)"},
        {"number": 3, "title": "Data", "url": " data:text/html,<b>x</b>"},
        "not a source", {"number": [4], "title": "List"},
    ])

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    assert response.status_code == 200
    sources = re.search(r'<section class="article-preview__sources">.*?</section>', response.content.decode(),
                        re.S).group(0)
    assert re.findall(r'href="([^"]*)"', sources) == ["https://example.org/guide"]
    assert re.findall(r'<li value="(\d+)">', sources) == ["1", "2", "3"]


def test_version_page_lists_each_subsection_under_its_section_in_the_contents(superuser):
    formatted = format_article("## Greens\n\nA.\n\n### Grass\n\nB.\n\n## Browns\n\nC.", fallback_title="T", sources=[])
    version = make_version(make_task(), body=formatted.body, body_html=formatted.body_html, seo={"toc": [
        *formatted.toc, {"title": "no id"}, {"id": "not-in-the-body", "title": "Gone", "level": 2}]})

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    toc = re.search(r'<nav class="article-preview__toc".*?</nav>', response.content.decode(), re.S).group(0)
    assert re.search(r"<ol>.*</ol>", toc, re.S).group(0) == (
        '<ol><li><a href="#greens">Greens</a><ol><li><a href="#grass">Grass</a></li></ol></li>'
        '<li><a href="#browns">Browns</a></li></ol>')


def test_version_page_shows_the_quality_report_as_a_table_of_checks(superuser):
    report = {
        "score": 72, "word_count": 950, "word_range": [900, 1100],
        "checks": [
            {"name": "word_count", "points": 25, "max_points": 25, "findings": []},
            {"name": "sentence_length", "points": 6.0, "max_points": 10,
             "findings": ["Split 4 sentence(s) longer than 45 words."]},
        ],
    }
    version = make_version(make_task(), quality_score=72, quality_report=report)

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    table = re.search(r'<table class="quality-report">.*?</table>', response.content.decode(), re.S).group(0)
    rows = [re.sub(r"<[^>]+>|\s+", " ", row).split() for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]]
    assert rows[0] == ["Word", "count", "25", "25", "—"]
    assert rows[1][:4] == ["Sentence", "length", "6", "10"]
    assert "Split 4 sentence(s) longer than 45 words." in table
    assert "quality-report__short" in table


def test_a_gate_passes_or_fails_and_only_a_check_with_findings_is_marked(superuser):
    report = {
        "score": 95, "checks": [
            {"name": "relevance", "points": 29.2, "max_points": 30, "findings": []},
            {"name": "leakage", "points": 0, "max_points": 0, "findings": []},
            {"name": "citations", "points": 4, "max_points": 5, "findings": ["Cite [3]."]},
        ],
    }
    version = make_version(make_task(), quality_score=95, quality_report=report)

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    table = re.search(r'<table class="quality-report">.*?</table>', response.content.decode(), re.S).group(0)
    rows = re.findall(r"<tr([^>]*)>(.*?)</tr>", table, re.S)[1:4]
    cells = [(re.sub(r"<[^>]+>|\s+", " ", body).split()[:3], "short" in attributes) for attributes, body in rows]
    assert cells == [(["Relevance", "29.2", "30"], False), (["Leakage", "passed", "gate"], False),
                     (["Citations", "4", "5"], True)]


def test_article_headings_on_the_version_page_are_styled_as_the_articles_not_the_admins(superuser):
    version = make_version(make_task(), body="## A section")

    response = _client(superuser).get(reverse("admin:content_contentversion_change", args=[version.pk]))

    assert 'href="/static/tasks/task-admin.css"' in response.content.decode()
    css = (Path(__file__).parents[2] / "tasks/static/tasks/task-admin.css").read_text()
    assert re.search(r"\.article-preview h2[^{]*\{[^}]*background: none", css)


def _assert_append_only_in_admin(client, model: str, pk, change: dict) -> None:
    """Changing, deleting and bulk-deleting the row through the admin are all refused (or do nothing)."""
    delete_url = reverse(f"admin:content_{model}_delete", args=[pk])
    assert client.post(reverse(f"admin:content_{model}_change", args=[pk]), change).status_code == 403
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.post(
        reverse(f"admin:content_{model}_changelist"),
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
    )


def test_a_version_cannot_be_changed_or_deleted_through_the_admin_even_by_a_superuser(superuser):
    version = make_version(make_task(), title="Original title", body="Original body.")
    _assert_append_only_in_admin(_client(superuser), "contentversion", version.pk,
                                 {"title": "Rewritten", "body": "Rewritten.", "number": "1"})

    version.refresh_from_db()
    assert (version.title, version.body) == ("Original title", "Original body.")


def test_an_audit_row_cannot_be_changed_or_deleted_through_the_admin_even_by_a_superuser(superuser, reviewer):
    event = _approval(make_task(), actor=reviewer, decision="approved", feedback="Good to go.")
    client = _client(superuser)

    assert client.get(reverse("admin:content_approvalevent_change", args=[event.pk])).status_code == 200
    _assert_append_only_in_admin(client, "approvalevent", event.pk, {"decision": "rejected", "feedback": "Rewritten."})

    event.refresh_from_db()
    assert (event.decision, event.feedback, event.actor) == ("approved", "Good to go.", reviewer)


def test_audit_trail_offers_no_delete_action_even_to_a_superuser(superuser, rf):
    request = rf.get("/")
    request.user = superuser
    model_admin = admin.site.get_model_admin(ApprovalEvent)

    assert "delete_selected" not in model_admin.get_actions(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)


def test_audit_trail_changelist_truncates_long_feedback_and_lists_reasons_as_the_reject_form_names_them(superuser):
    _approval(make_task(), feedback="word " * 100, reasons=["off_topic", "factual_error"])

    response = _client(superuser).get(reverse("admin:content_approvalevent_changelist"))

    page = response.content.decode()
    assert "Off topic, Factual error" in page and "off_topic" not in page
    assert "word " * 100 not in page
    assert "…" in page


def test_editor_sees_only_the_history_of_their_own_tasks(editor, other_editor):
    own_task, foreign_task = make_task(created_by=editor), make_task(created_by=other_editor)
    own_version, _ = make_version(own_task), make_version(foreign_task)
    own_event, _ = _approval(own_task), _approval(foreign_task)
    client = _client(editor)

    versions = client.get(reverse("admin:content_contentversion_changelist"))
    audit = client.get(reverse("admin:content_approvalevent_changelist"))

    assert _changelist_rows(versions) == [own_version]
    assert _changelist_rows(audit) == [own_event]


def test_reviewer_sees_the_history_of_every_task(reviewer, editor, other_editor):
    versions = {make_version(make_task(created_by=editor)), make_version(make_task(created_by=other_editor))}

    response = _client(reviewer).get(reverse("admin:content_contentversion_changelist"))

    assert set(_changelist_rows(response)) == versions


def test_task_page_lists_its_versions_and_audit_trail_oldest_first(editor):
    task = make_task(created_by=editor)
    first = make_version(task, title="First draft")
    make_version(task, title="Second draft")
    _approval(task, version=first, feedback="Needs a stronger ending.")
    _approval(task, version=first, decision="approved", feedback="Better now.")

    response = _client(editor).get(reverse("admin:tasks_generationtask_change", args=[task.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "First draft" in page and "Second draft" in page
    assert page.index("Needs a stronger ending.") < page.index("Better now.")
    assert "<td>Writing quality, Length</td>" in page  # the reasons as the reject form names them
    assert reverse("admin:content_contentversion_change", args=[first.pk]) in page
    assert not [inline for inline in response.context["inline_admin_formsets"]
                if inline.formset.model in (ContentVersion, ApprovalEvent)], "read-only sections, no formsets"


def test_a_task_goes_with_its_versions_and_events_but_not_with_its_audit_trail(reviewer):
    task = make_task()
    make_version(task)
    TaskEvent.objects.create(task=task, sequence=1, kind="created", status="queued")
    audited = make_task()
    make_version(audited)
    _approval(audited)
    client = _client(reviewer)

    deleted = client.post(reverse("admin:tasks_generationtask_delete", args=[task.pk]), {"post": "yes"})
    refused = client.post(reverse("admin:tasks_generationtask_delete", args=[audited.pk]), {"post": "yes"})

    assert deleted.status_code == 302
    assert not GenerationTask.objects.filter(pk=task.pk).exists()
    assert not ContentVersion.objects.filter(task_id=task.pk).exists()
    assert refused.status_code == 403, "a task with an audit trail offers no delete at all"
    assert GenerationTask.objects.filter(pk=audited.pk).exists()
    assert ApprovalEvent.objects.filter(task=audited).exists()


def test_a_task_with_editorial_decisions_offers_no_delete_button(superuser, reviewer):
    from content.services.review import task_approve
    from tests.editorial import completed_task

    task = completed_task(created_by=superuser)
    url = reverse("admin:tasks_generationtask_change", args=[task.pk])
    assert 'class="deletelink"' in _client(superuser).get(url).content.decode()
    task_approve(task=task, by=reviewer)
    assert 'class="deletelink"' not in _client(superuser).get(url).content.decode()
    assert _client(superuser).post(reverse("admin:tasks_generationtask_delete", args=[task.pk]),
                                   {"post": "yes"}).status_code == 403


def test_the_task_pages_article_header_names_the_writer_and_marks_an_outline(superuser, reviewer):
    from content.services.versions import version_create
    from tests.editorial import completed_task

    task = completed_task(created_by=superuser)
    version_create(task=task, phase="format", title="Composting at home", model_key="offline", is_outline=True,
                   body="# Composting at home\n\n> **Outline — not an article.**\n\n## Basics\n\n- What is it?\n")
    page = _client(reviewer).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()
    header = re.search(r'<h2 id="task-article-title">(.*?)</h2>', page, re.DOTALL).group(1)
    # The catalog's name of the model, not its key; the versions table names it the same way.
    assert "Outline — not approvable" in header and "written by Offline writer (built in)" in header
    assert "<td>Offline writer (built in)</td>" in page

    version_create(task=task, phase="format", title="Composting at home", model_key="fake-gpt",
                   body="# Composting at home\n\nComposting turns kitchen scraps into soil.\n")
    page = _client(reviewer).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()
    header = re.search(r'<h2 id="task-article-title">(.*?)</h2>', page, re.DOTALL).group(1)
    assert "Outline" not in header and "written by fake-gpt" in header  # no longer in the catalog: its key


def test_bulk_delete_names_the_tasks_whose_audit_trail_must_be_kept_instead_of_a_permission(superuser, reviewer):
    """Django's page would say the superuser lacks permission to delete approval events; the
    reason is the rule that keeps them, and the other selected tasks can still go."""
    kept = make_task(status="completed", finished_at=timezone.now(), title="Reviewed piece")
    _approval(kept, actor=reviewer, decision="approved", feedback="Good to go.")
    plain = make_task(status="failed", finished_at=timezone.now(), title="Failed piece")
    client = _client(superuser)
    changelist = reverse("admin:tasks_generationtask_changelist")

    page = client.post(changelist, {"action": "delete_selected", "_selected_action": [kept.pk, plain.pk]})

    html = page.content.decode()
    assert page.status_code == 200 and "permission" not in html
    assert "Reviewed piece" in html and "editorial audit trail or a post made from it" in html
    client.post(changelist, {"action": "delete_selected", "_selected_action": [plain.pk], "post": "yes"})
    assert list(GenerationTask.objects.values_list("title", flat=True)) == ["Reviewed piece"]


def test_a_reviewer_who_rewrote_the_draft_is_offered_no_approve_and_an_approve_post_is_refused(reviewer, editor):
    from content.services.review import task_edit_draft
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_edit_draft(task=task, by=reviewer, body="Compost is what I say it is.")
    client = _client(reviewer)

    page = client.get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()
    approve = client.post(reverse("admin:tasks_generationtask_action", args=[task.pk, "approve"]),
                          {"approve-feedback": "Good."}, follow=True)

    assert not {"approve", "reject"} & set(re.findall(r'data-verb="([a-z_]+)"', page))
    assert "you wrote a version of this piece, so another reviewer must approve or reject it." in page
    assert not ApprovalEvent.objects.filter(task=task, decision="approved").exists()
    task.refresh_from_db()
    assert task.approval_status == "pending"
    assert any("is not possible on this task now" in str(m) for m in approve.context["messages"])


def test_the_admins_draft_edit_refuses_a_body_of_more_lines_than_an_edit_may_have(editor):
    import html

    from content.selectors import current_version
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    base = current_version(task)

    response = _client(editor).post(reverse("admin:tasks_generationtask_action", args=[task.pk, "edit"]),
                                    {"edit-title": base.title, "edit-excerpt": base.excerpt,
                                     "edit-body": "y\n" * 99_000, "edit-base_version": str(base.number)})

    assert response.status_code == 200
    assert "Body has too many lines (99,000; at most 5,000)" in html.unescape(response.content.decode())
    assert current_version(task) == base


@pytest.mark.django_db
def test_an_audit_entrys_own_page_names_its_reasons_as_the_reject_form_does(superuser):
    task = make_task(status="completed", approval_status="rejected", created_by=superuser, finished_at=timezone.now())
    event = ApprovalEvent.objects.create(task=task, decision="rejected", actor=superuser, feedback="Thin.",
                                         reasons=["quality", "structure"])
    client = Client()
    client.force_login(superuser)

    page = client.get(reverse("admin:content_approvalevent_change", args=[event.pk])).content.decode()

    assert "Writing quality" in page and "quality, structure" not in page



def test_each_decisions_note_is_labelled_by_what_it_says(superuser, reviewer):
    from tests.editorial import completed_task

    task = completed_task(created_by=superuser)
    page = _client(reviewer).get(reverse("admin:tasks_generationtask_change", args=[task.pk])).content.decode()

    labels = re.findall(r'<label for="id_(approve|reject)-feedback"[^>]*>([^<]*)</label>', page)
    assert dict(labels) == {"approve": "Note with the approval:", "reject": "Why it is rejected:"}
