"""The pipeline's stages with answers that cannot be used as they came, through the real OpenAI client.

A cut-off draft is asked for again once (with an event), then fails the task at once; a malformed
chunk is retried; a base URL that cannot be requested fails the task without a call; every answer
received is charged, kept or not, also when the stage is cancelled or times out; the QA loop stops
when a revision changes nothing.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from content.costs import price
from content.models import ContentVersion
from content.providers.base import Brief
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tasks.services import task_cancel
from tests.content.fake_servers import Malformed, OpenAIChatServer, PexelsServer, Reply
from tests.content.test_pipeline import (  # noqa: F401 - `pipeline` is a fixture
    OUTLINE_JSON,
    fake_model,
    good_article,
    phases,
    pipeline,
    run_one,
)
from tests.factories import submit_task

BRIEF = dict(topic="Heat pumps", word_count=300, primary_keyword="heat pump")


@pytest.fixture
def article():
    return good_article(Brief(**BRIEF))


def answer_events(task) -> list[TaskEvent]:
    return list(TaskEvent.objects.filter(task=task, kind="log", data__has_key="answer").order_by("sequence"))


def test_a_draft_cut_off_at_its_limit_is_asked_again_once_and_every_answer_is_charged(pipeline, monkeypatch, article):
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50),
               Reply(article[:400], truncated=True, input_tokens=1000, output_tokens=700),
               Reply(article, input_tokens=1000, output_tokens=900),
               Reply("Solid piece.", input_tokens=800, output_tokens=20)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, **BRIEF)
        done = run_one()
    assert done.status == "completed", done.error
    assert len(server.requests) == 4
    first, second = (request.json["max_tokens"] for request in server.requests[1:3])
    assert second == 2 * first
    [cut] = answer_events(task)
    assert cut.data["answer"] == "truncated" and cut.data["stage"] == "draft"
    assert (cut.data["input_tokens"], cut.data["output_tokens"]) == (1000, 700)
    assert cut.data["cost"] == str(price(model, 1000, 700))
    assert f"cut off at its token limit ({first:,} tokens)" in cut.message
    draft = ContentVersion.objects.get(task=task, phase="draft")
    assert (draft.input_tokens, draft.output_tokens) == (1100, 950)
    assert (done.input_tokens, done.output_tokens) == (2900, 1670)
    assert done.actual_cost == price(model, 2900, 1670)


def test_a_draft_cut_off_twice_fails_the_task_at_once_and_its_tokens_are_charged(pipeline, monkeypatch, article):
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50),
               Reply(article[:400], truncated=True, input_tokens=1000, output_tokens=700),
               Reply(article[:800], truncated=True, input_tokens=1000, output_tokens=1400)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, max_attempts=3, **BRIEF)
        done = run_one()
    assert (done.status, done.attempts) == ("failed", 1)
    assert len(server.requests) == 3
    limit = server.requests[2].json["max_tokens"]
    assert done.error == (f"OpenAI-compatible API (Fake GPT)'s answer was cut off at its token limit ({limit:,} "
                          "tokens); raise the limit (the model's context window in the catalog) or shorten the "
                          "target length. (stage draft)")
    assert [e.data["answer"] for e in answer_events(task)] == ["truncated", "truncated", "unstored"]
    assert phases(task) == ["research"], "no cut-off article is stored"
    # The outline (accepted, then lost with the stage) and both cut-off answers were paid for.
    assert (done.input_tokens, done.output_tokens) == (2100, 2150)
    assert done.actual_cost == price(model, 2100, 2150) > 0


def test_a_draft_longer_than_its_token_limit_allows_fails_the_task_and_is_charged_not_stored(
        pipeline, monkeypatch, article):
    """A provider that ignores max_tokens: without the check, a 16 MB answer became the article."""
    endless = article + "\n\n" + "More words that nobody asked for. " * 1_000  # 16 × the limit is ~14,000
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50),
               Reply(endless, input_tokens=1000, output_tokens=9_000)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, max_attempts=3, **BRIEF)
        done = run_one()
    limit = server.requests[1].json["max_tokens"]
    assert len(endless) > 16 * limit, "the answer is longer than any tokenizer makes of the limit"
    assert (done.status, done.attempts) == ("failed", 1)
    assert done.error == (f"OpenAI-compatible API (Fake GPT) returned {len(endless):,} characters for a limit of "
                          f"{limit:,} tokens: it ignored the limit, so the answer is not used. (stage draft)")
    assert [e.data["answer"] for e in answer_events(task)][0] == "oversized"
    assert phases(task) == ["research"], "no oversized article is stored"
    assert (done.input_tokens, done.output_tokens) == (1100, 9_050), "what the provider charged is counted"


def test_a_malformed_stream_chunk_is_retried_like_a_dropped_stream(pipeline, monkeypatch, article):
    with OpenAIChatServer(Malformed(), Reply(OUTLINE_JSON), Reply(article), Reply("Solid piece.")) as server:
        task = submit_task(model=fake_model(server, monkeypatch), **BRIEF)
        done = run_one()
    assert done.status == "completed", done.error
    assert (done.attempts, len(server.requests)) == (1, 4)
    tries = [e.data for e in TaskEvent.objects.filter(task=task, kind="log", data__call="draft: outline")
             .order_by("sequence")]
    assert [(t["attempt"], t["outcome"]) for t in tries] == [(1, "retry"), (2, "ok")]
    assert "malformed stream chunk (invalid JSON)" in tries[0]["error"]


def test_a_base_url_that_cannot_be_requested_fails_the_task_at_once_without_a_call(pipeline, monkeypatch):
    monkeypatch.setenv("PRESSROOM_FAKE_API_KEY", "sk-test-123")
    # The database takes it (it checks the scheme, not the port); the catalog form would not.
    entry = ModelCatalogEntry.objects.create(
        key="typo", display_name="Typo", provider="openai_compatible", provider_model_id="gpt-fake",
        base_url="http://127.0.0.1:99999/v1", api_key_env="PRESSROOM_FAKE_API_KEY")
    task = submit_task(model=entry, max_attempts=3, **BRIEF)
    done = run_one()
    assert (done.status, done.attempts) == ("failed", 1)
    assert done.error.startswith("The base URL of OpenAI-compatible API (Typo) is unusable: "
                                 "'http://127.0.0.1:99999/v1/chat/completions': it is not a valid URL")
    assert not TaskEvent.objects.filter(task=task, data__call__startswith="draft").exists(), "no call was tried"


def test_the_qa_loop_stops_when_a_revision_comes_back_unchanged(pipeline, monkeypatch):
    pipeline.PRESSROOM_QA_MAX_ROUNDS = 3
    short = ("# Short\n\nA heat pump moves heat.\n\n## One\n\nA.\n\n## Two\n\nB.\n\n## Three\n\nC.\n\n"
             "## Conclusion\n\nEnd.")
    same = short.replace("\n\n## One", "\n\n\n## One").replace("moves heat.", "moves  heat.") + "\n"
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50),
               Reply(short, input_tokens=1000, output_tokens=60),
               Reply("Far too short.", input_tokens=300, output_tokens=10),
               Reply(same, input_tokens=1200, output_tokens=61)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, topic="Heat pumps", word_count=1000)
        done = run_one()
    assert done.status == "completed", done.error
    assert len(server.requests) == 4, "no critique or revision after the unchanged one"
    assert phases(task) == ["research", "draft", "qa", "image", "format"], "no duplicate QA version"
    [unchanged] = answer_events(task)
    assert unchanged.message.startswith("QA revision 1 came back unchanged; the QA loop stops at round 0")
    assert (unchanged.data["answer"], unchanged.data["input_tokens"], unchanged.data["output_tokens"]) == (
        "unchanged", 1200, 61)
    qa = ContentVersion.objects.get(task=task, phase="qa")
    assert qa.quality_report["stopped"] == "unchanged revision" and qa.quality_report["within_tolerance"] is False
    assert ContentVersion.objects.get(task=task, phase="format").title == "Short"
    assert (done.input_tokens, done.output_tokens) == (2600, 181)
    assert done.actual_cost == price(model, 2600, 181) > Decimal(0)


def test_a_draft_answer_of_the_wrong_type_fails_the_task_naming_the_provider_and_is_charged(
        pipeline, monkeypatch, article):
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50),
               Reply({"text": article}, streamed=False, input_tokens=1000, output_tokens=900)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, max_attempts=3, **BRIEF)
        done = run_one()
    assert (done.status, done.attempts) == ("failed", 1)
    assert done.error == ("OpenAI-compatible API (Fake GPT) answered in an unexpected shape: its message content "
                          "is dict, not text. (stage draft)")
    assert [e.data["answer"] for e in answer_events(task)] == ["unstored"]
    assert (done.input_tokens, done.output_tokens) == (100, 50), "the outline received was paid for"


def test_a_pexels_photo_of_the_wrong_shape_falls_back_to_the_offline_image(pipeline, monkeypatch, article):
    monkeypatch.setenv("PEXELS_API_KEY", "pexels-key")
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(article), Reply("Solid piece.")) as server, \
            PexelsServer() as pexels:
        photo = pexels.photo
        monkeypatch.setattr(pexels, "photo", lambda index: {**photo(index), "src": "https://images.pexels.com/1.jpeg"})
        pipeline.PRESSROOM_IMAGE_PROVIDER = "pexels"
        pipeline.PRESSROOM_PEXELS_URL = f"{pexels.url}/v1"
        task = submit_task(model=fake_model(server, monkeypatch), **BRIEF)
        done = run_one()
    assert done.status == "completed", done.error
    image = ContentVersion.objects.get(task=task, phase="image")
    assert image.quality_report["warnings"] == [
        "pexels: Pexels answered in an unexpected shape: the photo's src is str, not an object.; "
        "used a generated image instead."]
    assert image.image.name


@pytest.mark.parametrize("stop", ["cancel", "deadline"])
def test_answers_received_before_a_stage_is_stopped_are_charged(pipeline, monkeypatch, article, stop):
    """The outline came back and was paid for; the article is still streaming when the editor
    cancels (or the deadline passes). The stage stores nothing, but the outline is charged."""
    replies = [Reply(OUTLINE_JSON, input_tokens=100, output_tokens=50), Reply(article, delay=0.5)]
    with OpenAIChatServer(*replies) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(model=model, **BRIEF)
        if stop == "deadline":
            GenerationTask.objects.filter(pk=task.pk).update(timeout_seconds=4)
            canceller = None
        else:
            canceller = threading.Thread(target=_cancel_once_writing, args=(task, server))
            canceller.start()
        done = run_one()
        if canceller:
            canceller.join()
    assert done.status == {"cancel": "cancelled", "deadline": "timed_out"}[stop]
    assert len(server.requests) == 2, "the article was asked for"
    [charged] = answer_events(task)
    assert charged.data["answer"] == "unstored" and charged.data["stage"] == "draft"
    assert "1 answer(s) received before the stage was stopped" in charged.message
    assert (done.input_tokens, done.output_tokens) == (100, 50)
    assert done.actual_cost == price(model, 100, 50) > Decimal(0)
    assert phases(task) == ["research"]


def _cancel_once_writing(task, server) -> None:
    """Cancel `task` as its editor would, once the article's request has reached the server."""
    try:
        deadline = time.monotonic() + 30
        while len(server.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        task_cancel(task=GenerationTask.objects.get(pk=task.pk), by="editor")
    finally:
        connection.close()
