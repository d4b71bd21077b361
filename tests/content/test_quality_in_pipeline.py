"""Quality control through the real pipeline: nothing internal or private ever reaches a reader,
the revise loop runs when a draft is off topic (offline writer and a chat model), and a version
that leaks cannot be approved."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from content.models import ContentVersion
from content.providers.base import Brief, Research, Source
from content.providers.offline import OfflineTextModel
from content.services.review import task_approve, task_edit_draft
from publishing.services.posts import task_publish
from tasks.exceptions import InvalidTransition
from tasks.models import TaskEvent
from tests.content.fake_servers import OpenAIChatServer, Reply
from tests.content.notes import COMPOSTING, STANDING_DESKS, research_inputs
from tests.content.test_pipeline import OUTLINE_JSON, fake_model, pipeline, run_one  # noqa: F401 - fixture
from tests.editorial import editor_and_reviewer
from tests.factories import submit_task

PRIVATE_LINE = "Keep quiet about our supplier deal with GreenCo Ltd."
INTERNAL = ("Editor's notes", "must not cite", "Research notes", "Primary keyword:", "Audience:", "GreenCo")


@pytest.fixture
def people(pipeline):  # noqa: F811
    return editor_and_reviewer("q-ed", "q-rev")


def offline_article(topic: str, notes: str, words: int = 300) -> str:
    brief = Brief(topic=topic, word_count=words)
    research = Research(notes=notes, sources=(Source(1, "Editor's notes", quote=notes[:300], kind="pasted"),))
    model = OfflineTextModel()
    return model.write(brief, research, model.outline(brief, research).outline).text


def test_no_instruction_or_private_note_reaches_a_version_a_post_or_the_api(people):
    editor, reviewer = people
    notes = f"{COMPOSTING.strip()}\n\n{PRIVATE_LINE}"
    task = submit_task(created_by=editor, topic="Composting at home", word_count=400,
                       primary_keyword="compost", metadata=research_inputs(notes))
    task = run_one()
    assert task.status == "completed", task.error
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)

    client = APIClient()
    client.force_authenticate(reviewer)
    shown = [post.title, post.body, post.body_html, post.excerpt, str(post.sources), str(post.seo)]
    for version in ContentVersion.objects.filter(task=task).exclude(phase="research"):
        shown += [version.title, version.body, version.body_html, version.excerpt, str(version.sources)]
        shown.append(client.get(f"/api/tasks/{task.pk}/versions/{version.number}").content.decode())
    # (The task itself carries the brief, notes included: staff see it; it is not shown to readers.)
    for text in shown:
        for internal in INTERNAL:
            assert internal not in text, (internal, text[:300])
    assert post.sources == [], "the editor's notes were used, never listed as a source"


def test_the_revise_loop_runs_when_a_chat_models_draft_is_off_topic(pipeline, monkeypatch):  # noqa: F811
    pipeline.PRESSROOM_QA_MAX_ROUNDS = 2
    off_topic = offline_article("Standing desks at work", STANDING_DESKS)
    on_topic = offline_article("Composting at home", COMPOSTING)
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(off_topic), Reply("Reads well."), Reply(on_topic),
                          Reply("Reads well.")) as server:
        task = submit_task(topic="Composting at home", word_count=300, primary_keyword="compost",
                           model=fake_model(server, monkeypatch), metadata=research_inputs(COMPOSTING))
        done = run_one()
        requests = [request.json for request in server.requests]
    assert done.status == "completed", done.error
    rounds = list(ContentVersion.objects.filter(task=task, phase="qa").order_by("number"))
    assert len(rounds) == 2, "the off-topic draft was sent back once"
    first, last = rounds[0].quality_report, rounds[1].quality_report
    relevance = next(check for check in first["checks"] if check["name"] == "relevance")
    assert relevance["findings"] and first["score"] < 70
    assert last["score"] >= 70 and not last["leaked"]
    revise_prompt = requests[3]["messages"][-1]["content"]
    assert "Revise the article" in revise_prompt and "topic" in revise_prompt.lower()


def test_the_revise_loop_runs_for_the_offline_writer_when_its_material_is_off_topic(pipeline):  # noqa: F811
    pipeline.PRESSROOM_QA_MAX_ROUNDS = 2
    task = submit_task(topic="Composting at home", word_count=300, primary_keyword="compost",
                       metadata=research_inputs(STANDING_DESKS))
    done = run_one()
    assert done.status == "completed", done.error
    rounds = list(ContentVersion.objects.filter(task=task, phase="qa").order_by("number"))
    # Relevance failed, so the writer revised; its second revision changed nothing, which ends the
    # loop there (another round would score the same text) without storing a duplicate version.
    assert len(rounds) == 2 and rounds[0].body != rounds[1].body
    [stopped] = TaskEvent.objects.filter(task=task, kind="log", data__answer="unchanged")
    assert stopped.message.startswith("QA revision 2 came back unchanged; the QA loop stops at round 1")
    final = rounds[-1].quality_report
    assert final["stopped"] == "unchanged revision"
    assert final["score"] < 70
    relevance = next(check for check in final["checks"] if check["name"] == "relevance")
    assert relevance["findings"], "the report says the piece is not about the brief"


def test_a_version_that_leaks_cannot_be_approved_until_a_person_edits_it_out(people, monkeypatch):
    editor, reviewer = people
    from django.conf import settings

    settings.PRESSROOM_QA_MAX_ROUNDS = 0
    leaky = offline_article("Composting at home", COMPOSTING) + "\n\nNo sources were gathered; the draft must not cite any."
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(leaky), Reply("Fine.")) as server:
        task = submit_task(created_by=editor, topic="Composting at home", word_count=300, primary_keyword="compost",
                           model=fake_model(server, monkeypatch), metadata=research_inputs(COMPOSTING))
        done = run_one()
    assert done.status == "completed", done.error
    with pytest.raises(InvalidTransition, match="leaks text that must never be published"):
        task_approve(task=done, by=reviewer)
    current = ContentVersion.objects.filter(task=task, phase="format").get()
    task_edit_draft(task=done, by=editor, body=current.body.replace("No sources were gathered; the draft must not "
                                                                    "cite any.", ""))
    done.refresh_from_db()
    task_approve(task=done, by=reviewer)
    done.refresh_from_db()
    assert done.approval_status == "approved"
