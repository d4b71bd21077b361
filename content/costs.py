"""Estimating what a brief will cost before it runs, and pricing what it did cost.

The estimate is a documented formula, not a guess (constants below), with one row per stage the
pipeline runs, in its order (`content.pipeline`'s stage lists: the names are not repeated here):

- words → tokens: `content.providers.base.TOKENS_PER_WORD` (1.33 tokens per English word), the
  ratio the chat models' output budgets and the offline writer's reported usage use too.
- every model call sends the system prompt and the brief (`PROMPT_TOKENS`) plus the research notes
  (`NOTE_TOKENS_PER_SOURCE` per expected source);
- research: no model call (sources are fetched, not generated);
- draft: an outline call (output `OUTLINE_TOKENS`) and a writing call (output = target words);
- qa: per round, a critique call for chat models (input = the article, output `CRITIQUE_TOKENS`);
  per revision, a revise call (input = prompt + notes + article, output = the article).
  The *expected* figure assumes one revision; the *maximum* assumes all `PRESSROOM_QA_MAX_ROUNDS`.
- image and format: no text-model call. An `image_generation` task adds the image price of the
  configured generator (`IMAGE_PRICES`, USD per image).
- cost = input tokens × input price + output tokens × output price, per million, from the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from content.providers.base import TOKENS_PER_WORD
from content.providers.registry import image_generator_name
from tasks.models import ModelCatalogEntry, Provider

PROMPT_TOKENS = 350
NOTE_TOKENS_PER_SOURCE = 120
EXPECTED_SOURCES = 3
OUTLINE_TOKENS = 150
CRITIQUE_TOKENS = 250
EXPECTED_REVISIONS = 1
IMAGE_PRICES = {"offline": Decimal("0"), "openai_images": Decimal("0.042")}
CENT = Decimal("0.000001")


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    input_tokens: int
    output_tokens: int
    cost: Decimal

    def as_dict(self) -> dict:
        return {"stage": self.stage, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost": str(self.cost)}


@dataclass(frozen=True)
class Estimate:
    model: str
    stages: list[StageEstimate]
    maximum_cost: Decimal
    maximum_input_tokens: int
    maximum_output_tokens: int

    @property
    def input_tokens(self) -> int:
        return sum(s.input_tokens for s in self.stages)

    @property
    def output_tokens(self) -> int:
        return sum(s.output_tokens for s in self.stages)

    @property
    def cost(self) -> Decimal:
        return sum((s.cost for s in self.stages), Decimal("0"))

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "stages": [s.as_dict() for s in self.stages],
            "total": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "cost": str(self.cost)},
            "maximum": {"input_tokens": self.maximum_input_tokens, "output_tokens": self.maximum_output_tokens,
                        "cost": str(self.maximum_cost), "qa_rounds": settings.PRESSROOM_QA_MAX_ROUNDS},
        }


def price(entry: ModelCatalogEntry, input_tokens: int, output_tokens: int) -> Decimal:
    return entry.cost_of(input_tokens=input_tokens, output_tokens=output_tokens).quantize(CENT, ROUND_HALF_UP)


def _qa(entry, article: int, prompt: int, revisions: int) -> tuple[int, int]:
    rounds = revisions + 1
    critique_in = (article + 300) * rounds if entry.provider != Provider.OFFLINE else 0
    critique_out = CRITIQUE_TOKENS * rounds if entry.provider != Provider.OFFLINE else 0
    return critique_in + revisions * (prompt + article + 200), critique_out + revisions * article


def _per_stage(stages, priced: dict[str, tuple[int, int, Decimal]]) -> list[StageEstimate]:
    """One row per stage the pipeline runs, in its order: `priced` gives (input tokens, output
    tokens, cost) of the stages that cost something; the others are free."""
    free = (0, 0, Decimal("0"))
    return [StageEstimate(stage.name, *priced.get(stage.name, free)) for stage in stages]


def estimate(*, task_type: str, word_count: int, model: ModelCatalogEntry) -> Estimate:
    # The stage list is the pipeline's own; imported here because the pipeline prices its
    # versions with `price` above.
    from content.pipeline import BLOG_POST_STAGES, IMAGE_GENERATION_STAGES

    if task_type == "image_generation":
        image = IMAGE_PRICES.get(image_generator_name(model), Decimal("0"))
        stages = _per_stage(IMAGE_GENERATION_STAGES, {"image": (0, 0, image)})
        return Estimate(model.key, stages, image, 0, 0)
    article = round(word_count * TOKENS_PER_WORD)
    prompt = PROMPT_TOKENS + NOTE_TOKENS_PER_SOURCE * EXPECTED_SOURCES
    draft_in, draft_out = prompt + (prompt + OUTLINE_TOKENS), OUTLINE_TOKENS + article
    qa_in, qa_out = _qa(model, article, prompt, EXPECTED_REVISIONS)
    stages = _per_stage(BLOG_POST_STAGES, {
        "draft": (draft_in, draft_out, price(model, draft_in, draft_out)),
        "qa": (qa_in, qa_out, price(model, qa_in, qa_out)),
    })
    max_qa_in, max_qa_out = _qa(model, article, prompt, settings.PRESSROOM_QA_MAX_ROUNDS)
    max_in, max_out = draft_in + max_qa_in, draft_out + max_qa_out
    return Estimate(model.key, stages, price(model, max_in, max_out), max_in, max_out)


def estimated_cost(*, task_type: str, brief: dict) -> Decimal:
    """The expected cost stored on a task at creation (the `PRESSROOM_COST_ESTIMATOR` hook)."""
    return estimate(task_type=task_type, word_count=brief.get("word_count") or 1000, model=brief["model"]).cost
