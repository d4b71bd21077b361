"""The blog_post and image_generation pipelines, run by the engine against real providers.

Chat models are the real OpenAI-compatible client talking to a local server that speaks the
protocol (tests/content/fake_servers.py); everything else is the built-in offline providers.
Most tests run the engine in-process; one runs the whole pipeline through a real cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from content.models import ContentVersion
from content.providers.base import Brief, Outline, Research, Source
from content.providers.offline import OfflineTextModel
from content.services.review import task_approve
from tasks.engine.runner import run_claimed_task
from tasks.exceptions import DomainError
from tasks.models import GenerationTask, ModelCatalogEntry, TaskEvent
from tasks.services import claim_next_task
from tasks.services.lifecycle import SOURCE_URLS_MAX
from tests.content.fake_servers import Fail, OpenAIChatServer, PageServer, Reply
from tests.content.notes import COMPOSTING, HEAT_PUMPS, research_inputs
from tests.factories import submit_task
from tests.html_safety import assert_inert
from tests.processes import Cluster, wait_for
from tests.seed import ensure_seed_data

KEY_VARIABLE = "PRESSROOM_FAKE_API_KEY"


@pytest.fixture
def pipeline(transactional_db, settings, tmp_path):
    """The real content pipeline, fast engine timings, media in a temporary folder."""
    ensure_seed_data()
    settings.PRESSROOM_TASK_TYPES = {
        "blog_post": "content.pipeline.BLOG_POST_STAGES",
        "image_generation": "content.pipeline.IMAGE_GENERATION_STAGES",
    }
    settings.PRESSROOM_HEARTBEAT_SECONDS = 1
    settings.PRESSROOM_HEARTBEAT_STALE_SECONDS = 3
    settings.PRESSROOM_RETRY_BASE_SECONDS = 0
    settings.PRESSROOM_IMAGE_GENERATOR = "offline"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


def run_one() -> GenerationTask:
    task = claim_next_task(worker="test-worker")
    assert task is not None
    run_claimed_task(task.pk, worker="test-worker")
    task.refresh_from_db()
    return task


def stage_runs(stage: str, outcome: str) -> float:
    """Runs of `stage` observed in this process's `pressroom_stage_duration_seconds` with `outcome`."""
    return REGISTRY.get_sample_value("pressroom_stage_duration_seconds_count", {"stage": stage, "outcome": outcome}) or 0.0


def phases(task) -> list[str]:
    return list(ContentVersion.objects.filter(task=task).order_by("number").values_list("phase", flat=True))


def fake_model(server: OpenAIChatServer, monkeypatch, *, key_variable: str = KEY_VARIABLE) -> ModelCatalogEntry:
    monkeypatch.setenv(KEY_VARIABLE, "sk-test-123")
    return ModelCatalogEntry.objects.create(
        key="fake-gpt", display_name="Fake GPT", provider="openai_compatible", provider_model_id="gpt-fake",
        base_url=f"{server.url}/v1", api_key_env=key_variable, input_price_per_million=1, output_price_per_million=2,
    )


def good_article(brief: Brief) -> str:
    """A whole article for a chat model to answer with: the offline writer's piece from notes."""
    research = Research(notes=HEAT_PUMPS, sources=(Source(1, "Editor's notes", quote=HEAT_PUMPS[:300], kind="pasted"),))
    outline = OfflineTextModel().outline(brief, research).outline
    return OfflineTextModel().write(brief, research, outline).text


OUTLINE_JSON = '{"title": "Heat Pumps Explained", "sections": ["How they work", "What they cost", "Living with one"]}'


def test_a_blog_post_runs_every_stage_with_the_offline_providers(pipeline):
    task = submit_task(topic="Heat pumps for older homes", word_count=300, primary_keyword="heat pump",
                       metadata=research_inputs(HEAT_PUMPS))
    done = run_one()
    assert done.pk == task.pk and done.status == "completed", done.error
    assert (done.approval_status, done.progress) == ("pending", 100)
    assert phases(task)[:2] == ["research", "draft"] and phases(task)[-2:] == ["image", "format"]
    final = ContentVersion.objects.filter(task=task).order_by("-number").first()
    assert 270 <= final.word_count <= 330
    assert final.quality_score is not None and final.quality_score >= 70
    assert final.model_key == "offline" and not final.is_outline
    assert Path(final.image.path).exists() and final.image.width == 1200 and final.image.height == 630
    assert_inert(final.body_html)
    assert final.seo["slug"] and len(final.seo["meta_description"]) <= 160 and len(final.seo["seo_title"]) <= 60
    assert final.sources == [], "the editor's notes are used, never cited as a source"
    assert "Editor's notes" not in final.body and "[1]" not in final.body
    sentences = [s for s in final.body.split("\n\n") if not s.startswith("#")]
    assert sentences and all(any(part.strip() in HEAT_PUMPS for part in s.split(". ")) for s in sentences)
    assert done.output_tokens > 0 and done.actual_cost == 0


def test_a_brief_without_material_gives_an_outline_that_cannot_be_approved(pipeline, reviewer):
    task = submit_task(topic="Heat pumps for older homes", word_count=800, primary_keyword="heat pump")
    done = run_one()
    assert done.status == "completed", done.error
    versions = ContentVersion.objects.filter(task=task).exclude(phase="research").order_by("number")
    assert [v.is_outline for v in versions] == [True] * len(versions)
    assert [v.phase for v in versions] == ["draft", "qa", "image", "format"], "an outline is not revised by QA"
    final = versions.last()
    assert final.model_key == "offline" and final.quality_score is not None
    assert "Outline — not an article" in final.body and final.sources == []
    with pytest.raises(DomainError, match="This version is an outline"):
        task_approve(task=done, by=reviewer)


def test_strict_mode_with_an_impossible_target_fails_with_the_count_and_range(pipeline, monkeypatch):
    pipeline.PRESSROOM_QA_MAX_ROUNDS = 1
    short = "# Too Short\n\nA heat pump moves heat.\n\n## One\n\nText.\n\n## Two\n\nText.\n\n## Three\n\nText.\n\n## Conclusion\n\nEnd."
    revised = short.replace("moves heat.", "moves heat from outside.")
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(short), Reply("Too short."), Reply(revised),
                          Reply("Still short.")) as server:
        model = fake_model(server, monkeypatch)
        task = submit_task(topic="Heat pumps", word_count=1000, word_count_tolerance=5, strict_mode=True, model=model)
        qa_runs = {outcome: stage_runs("qa", outcome) for outcome in ("ok", "permanent_error")}
        done = run_one()
    assert done.status == "failed"
    assert stage_runs("qa", "permanent_error") == qa_runs["permanent_error"] + 1, "the refused QA run, in /metrics"
    assert stage_runs("qa", "ok") == qa_runs["ok"], "a run whose output did not pass is no `ok`"
    words = ContentVersion.objects.filter(task=task, phase="qa").order_by("-number").first().word_count
    assert done.error == (f"Strict mode: The article has {words:,} words after 1 revision round(s); the brief allows "
                          "950–1,050 (1,000 ± 5%). (stage qa)")
    assert phases(task) == ["research", "draft", "qa", "qa"], "every QA round is kept as a version"


def test_without_strict_mode_the_shortfall_is_reported_and_the_task_completes(pipeline, monkeypatch):
    pipeline.PRESSROOM_QA_MAX_ROUNDS = 0
    short = "# Short\n\nA heat pump moves heat.\n\n## One\n\nA.\n\n## Two\n\nB.\n\n## Three\n\nC.\n\n## Conclusion\n\nEnd."
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(short), Reply("Short.")) as server:
        task = submit_task(topic="Heat pumps", word_count=1000, model=fake_model(server, monkeypatch))
        done = run_one()
    assert done.status == "completed"
    qa = ContentVersion.objects.get(task=task, phase="qa")
    assert qa.quality_report["within_tolerance"] is False
    assert any("Expand the article" in f for f in qa.quality_report["findings"])


def test_a_model_whose_key_variable_is_unset_fails_at_once_naming_it(pipeline, monkeypatch):
    with OpenAIChatServer(Reply(OUTLINE_JSON)) as server:
        model = fake_model(server, monkeypatch, key_variable="PRESSROOM_UNSET_API_KEY")
        monkeypatch.delenv("PRESSROOM_UNSET_API_KEY", raising=False)
        submit_task(topic="Heat pumps", model=model, max_attempts=3)
        done = run_one()
        assert server.requests == [], "no request is sent without a key"
    assert done.status == "failed" and done.attempts == 1
    assert "PRESSROOM_UNSET_API_KEY" in done.error and "not set" in done.error


def test_rate_limited_calls_are_retried_and_every_try_is_recorded(pipeline, monkeypatch):
    brief = Brief(topic="Heat pumps", word_count=300, primary_keyword="heat pump")
    article = good_article(brief)
    limited = Fail(429, "Rate limit reached", "rate_limit_error", headers={"Retry-After": "0"})
    with OpenAIChatServer(limited, limited, Reply(OUTLINE_JSON), Reply(article), Reply("Solid piece.")) as server:
        task = submit_task(topic="Heat pumps", word_count=300, primary_keyword="heat pump",
                           model=fake_model(server, monkeypatch))
        done = run_one()
    assert done.status == "completed", done.error
    tries = [e.data for e in TaskEvent.objects.filter(task=task, kind="log").order_by("sequence")
             if e.data.get("call") == "draft: outline"]
    assert [(t["attempt"], t["outcome"]) for t in tries] == [(1, "retry"), (2, "retry"), (3, "ok")]
    assert done.attempts == 1
    assert done.input_tokens > 0 and done.actual_cost > 0, "the model's usage and price are recorded"
    draft = ContentVersion.objects.get(task=task, phase="draft")
    assert draft.model_key == "fake-gpt" and draft.cost > 0


def test_hostile_model_output_comes_out_inert(pipeline, monkeypatch):
    brief = Brief(topic="Heat pumps", word_count=300, primary_keyword="heat pump")
    article = good_article(brief).replace(
        "## Conclusion",
        "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) "
        '<a href="javascript:alert(2)">me</a> <iframe src="https://evil.example"></iframe>\n\n## Conclusion',
    )
    with OpenAIChatServer(Reply(OUTLINE_JSON), Reply(article), Reply("Fine.")) as server:
        task = submit_task(topic="Heat pumps", word_count=300, primary_keyword="heat pump",
                           model=fake_model(server, monkeypatch))
        done = run_one()
    assert done.status == "completed", done.error
    final = ContentVersion.objects.get(task=task, phase="format")
    assert "alert" in final.body  # the text is kept as text...
    assert_inert(final.body_html)  # ...and nothing in the HTML can run


@pytest.mark.parametrize("outline", [
    json.dumps({"title": "Heat\x1b[31m Pumps\u202e\nExplained\x07",
                "sections": ["How they work", "What they cost", "Living with one"]}),
    "# Heat\x1b[31m Pumps\u202e Explained\x07\n\n## How they work\n## What they cost\n## Living with one\n",
], ids=["json", "markdown"])
def test_a_models_outline_title_reaches_the_versions_without_hidden_characters(pipeline, monkeypatch, outline):
    # The draft, QA and image versions' title is the outline's; it kept a model's ESC, BEL and
    # right-to-left override, which the format stage's title (`split_title`) already drops.
    brief = Brief(topic="Heat pumps", word_count=300, primary_keyword="heat pump")
    with OpenAIChatServer(Reply(outline), Reply(good_article(brief)), Reply("Fine.")) as server:
        task = submit_task(topic="Heat pumps", word_count=300, primary_keyword="heat pump",
                           model=fake_model(server, monkeypatch))
        done = run_one()
    assert done.status == "completed", done.error
    titles = dict(ContentVersion.objects.filter(task=task, phase__in=["draft", "qa", "image"])
                  .values_list("phase", "title"))
    assert titles == {"draft": "Heat[31m Pumps Explained", "qa": "Heat[31m Pumps Explained",
                      "image": "Heat[31m Pumps Explained"}


def test_research_fetches_a_local_page_only_when_explicitly_allowed(pipeline):
    with PageServer() as pages:
        url = f"{pages.url}/article"
        pipeline.PRESSROOM_FETCH_ALLOW_PRIVATE = True
        allowed = submit_task(topic="Heat pumps", metadata={"research": {"urls": [url]}})
        run_one()
        refused = submit_task(topic="Heat pumps", metadata={"research": {"urls": [url]}})
        pipeline.PRESSROOM_FETCH_ALLOW_PRIVATE = False  # refused at fetch time too, not only at submit
        run_one()
        with pytest.raises(DomainError, match="not a public address"):
            submit_task(topic="Heat pumps", metadata={"research": {"urls": [url]}})
    fetched = ContentVersion.objects.get(task=allowed, phase="research")
    assert [s["url"] for s in fetched.sources] == [url]
    blocked = ContentVersion.objects.get(task=refused, phase="research")
    assert blocked.sources == []
    assert any("not a public address" in w or "Refusing" in w for w in blocked.quality_report["warnings"])
    assert GenerationTask.objects.get(pk=refused.pk).status == "completed"


def test_research_fetches_each_url_of_a_stored_brief_once_and_never_more_than_the_limit(pipeline):
    """A brief stored with more URLs than submission allows (written before the rule, or around
    it) is cut, not fetched whole: every URL is an outbound request made on the editor's behalf."""
    pipeline.PRESSROOM_FETCH_ALLOW_PRIVATE = True
    with PageServer() as pages:
        urls = [f"{pages.url}/article?copy={n}" for n in range(SOURCE_URLS_MAX + 15)]
        task = submit_task(topic="Composting at home")
        GenerationTask.objects.filter(pk=task.pk).update(metadata={"research": {"urls": [urls[0], *urls]}})
        done = run_one()
        fetched = [request.query["copy"][0] for request in pages.requests if request.path == "/article"]
    assert done.status == "completed", done.error
    assert fetched == [str(n) for n in range(SOURCE_URLS_MAX)]


def test_an_image_generation_task_stores_one_image_version(pipeline):
    task = submit_task(task_type="image_generation", topic="A lighthouse at dawn, watercolour")
    done = run_one()
    assert done.status == "completed", done.error
    version = ContentVersion.objects.get(task=task)
    assert version.phase == "image" and version.body == "A lighthouse at dawn, watercolour"
    assert (version.image.width, version.image.height) == (1024, 1024)


def test_versions_api_lists_and_shows_a_completed_piece(pipeline, editor, other_editor):
    from rest_framework.test import APIClient

    task = submit_task(created_by=editor, topic="Heat pumps", word_count=400)
    run_one()
    client = APIClient()
    client.force_authenticate(editor)
    listed = client.get(f"/api/tasks/{task.pk}/versions").json()["results"]
    assert [v["phase"] for v in listed][:2] == ["research", "draft"] and listed[-1]["phase"] == "format"
    assert {"number", "phase", "quality_score", "word_count", "model", "cost", "created_at"} <= set(listed[0])
    final = client.get(f"/api/tasks/{task.pk}/versions/{listed[-1]['number']}/").json()
    assert final["body_html"] and final["seo"]["slug"] and final["image"].endswith(".png")
    assert final["quality_report"]["score"] == final["quality_score"]
    assert client.get(f"/api/tasks/{task.pk}/versions/999").status_code == 404
    client.force_authenticate(other_editor)
    assert client.get(f"/api/tasks/{task.pk}/versions").status_code == 404


@pytest.mark.slow
def test_a_1000_word_brief_completes_through_a_real_cluster(transactional_db, tmp_path, editor):
    from rest_framework.test import APIClient

    ensure_seed_data()
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post("/api/tasks", {
        "topic": "How to start composting at home", "word_count": 1000,
        "primary_keyword": "compost", "category": "Garden", "style": "educational", "tone": "friendly",
        "research_notes": COMPOSTING.strip(),
    }, format="json")
    assert response.status_code == 201
    task_id = response.json()["id"]
    media = tmp_path / "media"
    cluster = Cluster(tmp_path, workers=1, env={"DJANGO_SETTINGS_MODULE": "tests.settings", "MEDIA_ROOT": str(media)})
    try:
        wait_for(lambda: (connection.close() or GenerationTask.objects.get(pk=task_id).is_finished),
                 timeout=180, interval=0.5, message=f"the pipeline to finish\n{cluster.output[-3000:]}")
    finally:
        cluster.stop()
    task = GenerationTask.objects.get(pk=task_id)
    assert task.status == "completed", f"{task.error}\n{cluster.output[-3000:]}"
    assert phases(task)[:2] == ["research", "draft"] and phases(task)[-2:] == ["image", "format"]
    assert "qa" in phases(task)
    final = ContentVersion.objects.filter(task=task).order_by("-number").first()
    assert 900 <= final.word_count <= 1100 and not final.is_outline
    assert final.quality_score is not None
    assert (media / final.image.name).exists()
    assert_inert(final.body_html)


def test_an_image_task_on_the_offline_model_uses_the_offline_generator_whatever_the_setting(pipeline):
    pipeline.PRESSROOM_IMAGE_GENERATOR = "openai_images"  # the default; it needs OPENAI_API_KEY
    task = submit_task(task_type="image_generation", topic="A lighthouse at dawn, watercolour")
    done = run_one()
    assert done.status == "completed", done.error
    version = ContentVersion.objects.get(task=task)
    assert version.quality_report["generator"] == "offline" and version.image.name


def test_a_formatted_piece_has_the_word_count_its_quality_report_gives(pipeline):
    """The admin and the task page show a version's count beside its report's: one rule gives both
    (the format stage's title line once counted on one side only)."""
    task = submit_task(topic="Heat pumps for older homes", word_count=300, primary_keyword="heat pump",
                       metadata=research_inputs(HEAT_PUMPS))
    done = run_one()
    assert done.status == "completed", done.error
    scored = ContentVersion.objects.filter(task=task, phase__in=["qa", "format"]).order_by("number")
    assert scored.filter(phase="format").exists()
    assert [(v.phase, v.word_count) for v in scored] == [(v.phase, v.quality_report["word_count"]) for v in scored]
