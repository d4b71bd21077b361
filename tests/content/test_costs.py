import math
from decimal import Decimal

import pytest

from content.costs import OUTLINE_TOKENS, estimate
from content.pipeline import BLOG_POST_STAGES, IMAGE_GENERATION_STAGES
from content.providers.base import TOKENS_PER_WORD, Brief, Outline, Research
from content.providers.chat import LENGTH_HEADROOM, TOKEN_ALLOWANCE
from content.providers.offline import OfflineTextModel
from content.providers.openai_compatible import OpenAICompatibleModel
from content.textstats import count_words
from tasks.models import ModelCatalogEntry

pytestmark = pytest.mark.django_db


def test_the_offline_model_costs_nothing():
    result = estimate(task_type="blog_post", word_count=1200, model=ModelCatalogEntry.objects.get(key="offline"))
    assert result.cost == Decimal("0") and result.maximum_cost == Decimal("0")
    assert [s.stage for s in result.stages] == ["research", "draft", "qa", "image", "format"]


def test_a_priced_model_follows_the_documented_formula(settings):
    settings.PRESSROOM_QA_MAX_ROUNDS = 3
    entry = ModelCatalogEntry.objects.get(key="gpt-4o-mini")  # $0.15 in, $0.60 out per million
    result = estimate(task_type="blog_post", word_count=1000, model=entry)
    draft = next(s for s in result.stages if s.stage == "draft")
    article = round(1000 * TOKENS_PER_WORD)
    assert draft.output_tokens == 150 + article
    exact = (Decimal(draft.input_tokens) * Decimal("0.15") + Decimal(draft.output_tokens) * Decimal("0.60")) / 1_000_000
    assert draft.cost == exact.quantize(Decimal("0.000001"))
    assert result.maximum_cost > result.cost > 0
    assert result.as_dict()["maximum"]["qa_rounds"] == 3


def test_estimate_endpoint_prices_a_brief_and_creation_stores_it(editor_client):
    response = editor_client.post("/api/tasks/estimate", {"word_count": 2000, "model": "claude-sonnet-4"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "claude-sonnet-4" and Decimal(body["total"]["cost"]) > 0
    assert [s["stage"] for s in body["stages"]] == ["research", "draft", "qa", "image", "format"]
    created = editor_client.post("/api/tasks", {"topic": "Estimates", "word_count": 2000, "model": "claude-sonnet-4"},
                                 format="json")
    assert Decimal(created.json()["estimated_cost"]) == Decimal(body["total"]["cost"])


def test_the_estimate_has_one_row_per_pipeline_stage_in_its_order():
    entry = ModelCatalogEntry.objects.get(key="gpt-4o-mini")
    blog_post = estimate(task_type="blog_post", word_count=1000, model=entry)
    assert [s.stage for s in blog_post.stages] == [stage.name for stage in BLOG_POST_STAGES]
    assert {s.stage for s in blog_post.stages if s.output_tokens} == {"draft", "qa"}, "the model calls are priced"
    image = estimate(task_type="image_generation", word_count=1000, model=entry)
    assert [s.stage for s in image.stages] == [stage.name for stage in IMAGE_GENERATION_STAGES]


def test_the_estimate_the_chat_budget_and_the_offline_usage_count_words_alike(editor_client):
    """One tokens-per-word ratio: what the estimate API shows is what a chat model may write and
    what the offline writer reports."""
    body = editor_client.post("/api/tasks/estimate", {"word_count": 1000, "model": "gpt-4o-mini"},
                              format="json").json()
    draft = next(s for s in body["stages"] if s["stage"] == "draft")
    assert TOKENS_PER_WORD == 1.33  # the figure the estimate API has always shown
    assert draft["output_tokens"] == OUTLINE_TOKENS + round(1000 * TOKENS_PER_WORD)

    chat = OpenAICompatibleModel(ModelCatalogEntry(key="wide", provider="openai_compatible", context_window=100_000))
    assert chat._article_budget(1000, []) == int(1000 * LENGTH_HEADROOM * TOKENS_PER_WORD + TOKEN_ALLOWANCE)

    brief = Brief(topic="Composting at home", word_count=300)
    written = OfflineTextModel().write(brief, Research(notes=""), Outline(title="Composting at home", sections=("Heaps",)))
    assert written.usage.output_tokens == math.ceil(count_words(written.text) * TOKENS_PER_WORD)


def test_estimate_endpoint_validates_the_brief(editor_client):
    response = editor_client.post("/api/tasks/estimate/", {"word_count": 50, "model": "nope"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"word_count", "model"}


def test_the_estimate_takes_a_whole_brief_and_refuses_a_name_that_is_no_field_of_one(editor_client):
    brief = {"topic": "Estimates", "word_count": 2000, "tags": ["costs"], "style": "educational"}
    assert editor_client.post("/api/tasks/estimate", brief, format="json").status_code == 200

    response = editor_client.post("/api/tasks/estimate", {"wordcount": 2000}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"wordcount": ["Unknown field."]}


def test_models_endpoint_lists_enabled_models_with_prices(editor_client):
    ModelCatalogEntry.objects.filter(key="gpt-4o").update(enabled=False)
    body = editor_client.get("/api/models").json()
    keys = [entry["key"] for entry in body]
    assert "offline" in keys and "gpt-4o" not in keys
    mini = next(entry for entry in body if entry["key"] == "gpt-4o-mini")
    assert mini["input_price_per_million"] == "0.1500" and mini["output_price_per_million"] == "0.6000"
