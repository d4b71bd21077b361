"""The content pipeline: the stages the engine runs for `blog_post` and `image_generation`.

blog_post: research → draft → qa (score, revise, score again…) → image → format. Each stage's
`run` talks to providers (through `call_with_retries`, so a 429 is retried with backoff and every
try is recorded) and returns its output; its `persist` stores that output as a `ContentVersion`
in the same transaction as the stage's checkpoint. Later stages find earlier outputs through the
checkpoints, so a resumed task continues from exactly what was stored.

Registered by dotted path in `settings.PRESSROOM_TASK_TYPES`; `tasks` never imports this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace

from django.conf import settings

from content.citations import cited_numbers
from content.costs import price
from content.formatting import format_article, without_sources_section
from content.models import ContentVersion, VersionPhase
from content.providers.base import AnswerNotice, Brief, Image, Research, Source, TextModel, Usage
from content.providers.registry import image_generator, image_source, research_sources, text_model_for
from content.quality import passes, revision_for, score_article
from content.revisions import review_revision
from content.selectors import revision_request
from content.services.versions import version_create
from tasks.engine import Stage, call_with_retries
from tasks.exceptions import DeadlineExceeded, PermanentError, StageError, StageRejected, TaskCancelled, TransientError
from tasks.services.lifecycle import SOURCE_URLS_MAX

logger = logging.getLogger(__name__)

MAX_SOURCES = 12


# --- reading the task and earlier stages --------------------------------------------------
def brief_of(task) -> Brief:
    """The brief as the writer and the rubric should follow it now: in a revision round, a length
    the reviewer asked for replaces the brief's word count."""
    request = revision_request(task)
    return Brief(
        topic=task.topic, title=task.title,
        word_count=request.target_words if request and request.target_words else task.word_count,
        word_count_tolerance=task.word_count_tolerance, style=task.style, tone=task.tone,
        target_audience=task.target_audience, primary_keyword=task.primary_keyword,
        category=task.category, tags=tuple(task.tags or ()),
    )


def research_from(data: dict | None) -> Research:
    """The research stage's stored output (its checkpoint data) as the writer's `Research`."""
    data = data or {}
    return Research(notes=data.get("notes", ""), sources=tuple(Source(**s) for s in data.get("sources", [])))


def research_of(ctx) -> Research:
    return research_from(ctx.checkpoint_data("research"))


def version_of(ctx, stage: str) -> ContentVersion:
    data = ctx.checkpoint_data(stage)
    if not data or "version" not in data:
        raise PermanentError(f"The output of stage {stage} is missing; retry the task.")
    return ContentVersion.objects.get(task_id=ctx.task.pk, number=data["version"])


def latest_article(ctx) -> ContentVersion:
    """The newest version with an article: the draft, or after a failed QA run its last round."""
    draft = version_of(ctx, "draft")
    return (
        ContentVersion.objects.filter(task_id=ctx.task.pk, number__gte=draft.number,
                                      phase__in=[VersionPhase.DRAFT, VersionPhase.QA])
        .order_by("-number").first()
    )


# --- what the model answers and what it costs ----------------------------------------------
def charge(ctx, usage: Usage, message: str, *, answer: str) -> None:
    """Charge the task for answers no version will carry, with an event saying why: the provider
    was paid for them all the same (`answer` names the reason in the event's data)."""
    if usage.input_tokens or usage.output_tokens:
        cost = price(ctx.task.model, usage.input_tokens, usage.output_tokens)
        ctx.charge(message, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cost=cost,
                   answer=answer, stage=ctx.stage.name if ctx.stage else "")
    else:
        ctx.log(message, answer=answer)


def text_model(ctx) -> TextModel:
    """The task's text model, telling this stage about every answer it cuts short or rejects."""

    def heard(notice: AnswerNotice) -> None:
        if notice.usage is None:  # an answer kept in part: its tokens travel with the result
            ctx.log(notice.message, answer=notice.reason)
        else:
            charge(ctx, notice.usage, notice.message, answer=notice.reason)

    return text_model_for(ctx.task.model, listener=heard)


@contextmanager
def charged_if_failed(ctx) -> Iterator[list[Usage]]:
    """Collect the usage of the answers a stage has accepted but not stored yet; if the stage
    fails (a later call gives up, an answer is cut off) or is stopped (cancelled, past its
    deadline), charge them before the error goes on: the provider was paid for them either way.
    A worker that lost the task writes nothing, so it charges nothing."""
    accepted: list[Usage] = []
    try:
        yield accepted
    except (StageError, TaskCancelled, DeadlineExceeded) as error:
        spent = sum(accepted, Usage())
        if spent.input_tokens or spent.output_tokens:
            ended = "failed" if isinstance(error, StageError) else "was stopped"
            charge(ctx, spent, f"{len(accepted)} answer(s) received before the stage {ended} ({error}) are charged.",
                   answer="unstored")
        raise


def same_text(one: str, other: str) -> bool:
    """Whether two answers say exactly the same, whitespace aside."""
    return one.split() == other.split()


# --- research -----------------------------------------------------------------------------
PASTED_NOTES_MAX = 8000
NO_MATERIAL = "No research material was gathered for this brief: no pasted notes and no sources."


def _research_notes(brief: Brief, sources: list[Source], pasted: str = "") -> str:
    """The research material as neutral notes: the topic, the editor's pasted notes and the public
    sources with their quotes. Nothing in it addresses the writer (no audience, style, keyword or
    citation rules: those travel in the brief), because a writer may copy notes into the article.
    The editor's own notes are not listed as a numbered source here: their content is material to
    use, never a public source to cite."""
    lines = [f"# {brief.topic}", ""]
    if pasted.strip():
        lines += [pasted.strip()[:PASTED_NOTES_MAX], ""]
    public = [source for source in sources if not (source.kind == "pasted" and not source.url)]
    if public:
        lines += ["## Sources", ""]
        for source in public:
            link = f" — {source.url}" if source.url else ""
            lines.append(f"{source.number}. **{source.title}**{link}")
            if source.quote:
                lines.append(f"   > {' '.join(source.quote.split())[:400]}")
    return "\n".join(lines).strip()


def research_run(ctx) -> dict:
    brief = brief_of(ctx.task)
    inputs = (ctx.task.metadata or {}).get("research") or {}
    gathered: list[Source] = []
    warnings: list[str] = []
    urls = research_urls(inputs)
    for source in research_sources():
        # One call per URL, so a page that cannot be fetched drops only itself.
        calls = ([{**inputs, "urls": [url]} for url in urls] if source.name == "urls" and len(urls) > 1
                 else [{**inputs, "urls": urls}])
        for call_inputs in calls:
            try:
                found = call_with_retries(
                    ctx, lambda source=source, call_inputs=call_inputs: source.gather(
                        brief=brief, inputs=call_inputs, stop=ctx.check),
                    what=f"research: {source.name}",
                )
            except (TransientError, PermanentError) as error:
                warnings.append(f"{source.name}: {error}")
                ctx.log(f"Research source {source.name} skipped: {error}", source=source.name)
                continue
            gathered.extend(found)
    unique, seen = [], set()
    for source in gathered:
        key = source.url or source.title
        if key not in seen:
            seen.add(key)
            unique.append(source)
    numbered = [replace(source, number=n) for n, source in enumerate(unique[:MAX_SOURCES], start=1)]
    notes = _research_notes(brief, numbered, pasted=str(inputs.get("text") or ""))
    return {"notes": notes, "sources": [asdict(s) for s in numbered], "warnings": warnings}


def research_urls(inputs: dict) -> list[str]:
    """The brief's URLs the research stage fetches: each once, at most SOURCE_URLS_MAX. The cut holds for
    any stored brief, also one stored before the limit was checked at submission."""
    urls = inputs.get("urls") or []
    if isinstance(urls, str):
        urls = [urls]
    distinct = dict.fromkeys(str(url).strip() for url in urls if str(url).strip())
    return list(distinct)[:SOURCE_URLS_MAX]


def research_persist(ctx, output: dict) -> dict:
    version = version_create(
        task=ctx.task, phase=VersionPhase.RESEARCH, title=f"Research notes: {ctx.task.topic}",
        # The version is for editors; the notes the writer reads stay exactly as gathered.
        body=output["notes"] if output["sources"] or "\n" in output["notes"] else NO_MATERIAL,
        quality_report={"warnings": output["warnings"]}, sources=output["sources"],
    )
    return {"version": version.number, "notes": output["notes"], "sources": output["sources"]}


# --- draft --------------------------------------------------------------------------------
def draft_run(ctx) -> dict:
    brief, research = brief_of(ctx.task), research_of(ctx)
    model = text_model(ctx)
    request = revision_request(ctx.task)
    if request is not None:
        return _revise_for_reviewer(ctx, model, brief, research, request)
    with charged_if_failed(ctx) as accepted:
        planned = call_with_retries(ctx, lambda: model.outline(brief, research, stop=ctx.check),
                                    what="draft: outline")
        accepted.append(planned.usage)
        ctx.progress(0.3, "Outline ready: " + "; ".join(planned.outline.sections))
        written = call_with_retries(
            ctx, lambda: model.write(brief, research, planned.outline, stop=ctx.check), what="draft: write"
        )
    return {"title": planned.outline.title, "body": written.text, "usage": planned.usage + written.usage,
            "outline": list(planned.outline.sections), "outline_only": written.outline_only}


def _revise_for_reviewer(ctx, model, brief, research, request) -> dict:
    """A revision round's draft: the rejected version rewritten with the reviewer's instructions
    (reason codes, feedback, target length) passed to the writer as structured data."""
    rejected = request.version
    article = without_sources_section(rejected.body)
    revision = review_revision(brief=brief, article=article, reasons=tuple(request.reasons),
                               feedback=request.feedback, target_words=request.target_words)
    ctx.progress(0.3, f"Revising version {rejected.number} for the reviewer: {', '.join(request.reasons)}")
    revised = call_with_retries(
        ctx, lambda: model.revise(brief, research, article, revision, stop=ctx.check), what="draft: revision"
    )
    return {"title": rejected.title, "body": revised.text, "usage": revised.usage,
            "outline": [], "revision_of": rejected.number, "outline_only": revised.outline_only}


def draft_persist(ctx, output: dict) -> dict:
    entry = ctx.task.model
    usage = output["usage"]
    version = version_create(
        task=ctx.task, phase=VersionPhase.DRAFT, title=output["title"], body=output["body"], usage=usage,
        cost=price(entry, usage.input_tokens, usage.output_tokens), model_key=entry.key,
        is_outline=output.get("outline_only", False),
        quality_report={"outline": output["outline"]} | (
            {"revision_of": output["revision_of"], "revision": ctx.task.revision} if "revision_of" in output else {}),
    )
    return {"version": version.number}


# --- qa -----------------------------------------------------------------------------------
def qa_run(ctx) -> dict:
    """Score the article, revise it with the findings, score again, until it passes or the rounds
    run out. A revision that changes nothing (whitespace aside) or returns an earlier round's text
    ends the loop: another round would score the same text and ask for the same changes. Its
    tokens are charged with an event saying so, and no duplicate version is stored."""
    brief, research = brief_of(ctx.task), research_of(ctx)
    model = text_model(ctx)
    start = latest_article(ctx)
    article, title = start.body, start.title
    threshold, max_rounds = settings.PRESSROOM_QA_THRESHOLD, settings.PRESSROOM_QA_MAX_ROUNDS
    if start.is_outline:
        # An outline is scored so the editor sees why, but not revised: with no material to write
        # from, another round could only return the outline again.
        max_rounds = 0
    rounds = []
    with charged_if_failed(ctx) as accepted:
        for round_number in range(max_rounds + 1):
            usage = Usage()
            critique = call_with_retries(ctx, lambda: model.critique(brief, article, stop=ctx.check),
                                         what=f"qa: critique {round_number}")
            if critique is not None:
                usage = usage + critique.usage
                accepted.append(critique.usage)
            report = score_article(article, brief, research, critique=critique.text if critique else "")
            rounds.append({"round": round_number, "body": article, "report": report, "usage": usage})
            ctx.progress((round_number + 1) / (max_rounds + 1),
                         f"QA round {round_number}: score {report.score}, {report.word_count} words")
            if passes(report, threshold) or round_number == max_rounds:
                break
            revision = revision_for(report, brief, article)
            revised = call_with_retries(ctx, lambda: model.revise(brief, research, article, revision, stop=ctx.check),
                                        what=f"qa: revision {round_number + 1}")
            earlier = next((r["round"] for r in rounds if same_text(r["body"], revised.text)), None)
            if earlier is not None:
                same = "unchanged" if earlier == round_number else f"identical to round {earlier}"
                charge(ctx, revised.usage, f"QA revision {round_number + 1} came back {same}; the QA loop stops "
                       f"at round {round_number} (score {report.score}).", answer="unchanged")
                rounds[-1]["stopped"] = "unchanged revision"
                break
            article = revised.text
            rounds[-1]["revision_usage"] = revised.usage
            accepted.append(revised.usage)
    return {"title": title, "rounds": rounds, "threshold": threshold, "is_outline": start.is_outline}


def qa_persist(ctx, output: dict) -> dict:
    entry, task = ctx.task.model, ctx.task
    brief = brief_of(task)
    last = None
    for index, round_ in enumerate(output["rounds"]):
        report = round_["report"]
        # A revision is paid for by the round that produced its text: the next one.
        usage = round_["usage"] + (output["rounds"][index - 1].get("revision_usage", Usage()) if index else Usage())
        data = report.as_dict() | {"round": round_["round"], "threshold": output["threshold"]}
        if "stopped" in round_:
            data["stopped"] = round_["stopped"]
        last = version_create(
            task=task, phase=VersionPhase.QA, title=output["title"], body=round_["body"], usage=usage,
            cost=price(entry, usage.input_tokens, usage.output_tokens), model_key=entry.key,
            quality_score=report.score, quality_report=data, is_outline=output.get("is_outline", False),
        )
    final = output["rounds"][-1]["report"]
    rounds_done = len(output["rounds"]) - 1
    if not final.within_tolerance:
        low, high = final.word_range
        shortfall = (f"The article has {final.word_count:,} words after {rounds_done} revision round(s); the brief "
                     f"allows {low:,}–{high:,} ({brief.word_count:,} ± {brief.word_count_tolerance}%).")
        if output.get("is_outline"):
            shortfall += " It is an outline: there was no research material to write from."
        if task.strict_mode:
            raise StageRejected(f"Strict mode: {shortfall}")
        ctx.log(f"Word count outside the tolerance (strict mode is off): {shortfall}")
    return {"version": last.number, "score": final.score, "within_tolerance": final.within_tolerance}


# --- image --------------------------------------------------------------------------------
def image_run(ctx) -> dict:
    article = version_of(ctx, "qa")
    task = ctx.task
    keywords = tuple(k for k in (task.primary_keyword, *(task.tags or ())) if k)
    source = image_source()
    warnings = []
    try:
        image = call_with_retries(
            ctx, lambda: source.featured_image(title=article.title, topic=task.topic, category=task.category,
                                               keywords=keywords, stop=ctx.check),
            what=f"image: {source.name}",
        )
    except (PermanentError, TransientError) as error:
        if source.name == "offline":
            raise
        from content.providers.offline_image import OfflineImageSource

        warnings.append(f"{source.name}: {error}; used a generated image instead.")
        ctx.log(f"Featured image from {source.name} failed ({error}); rendering one offline.")
        image = OfflineImageSource().featured_image(title=article.title, topic=task.topic, category=task.category,
                                                     keywords=keywords, stop=ctx.check)
    return {"article": article.number, "image": image, "provider": source.name, "warnings": warnings}


def image_persist(ctx, output: dict) -> dict:
    article = ContentVersion.objects.get(task_id=ctx.task.pk, number=output["article"])
    image: Image = output["image"]
    version = version_create(
        task=ctx.task, phase=VersionPhase.IMAGE, title=article.title, body=article.body, image=image,
        usage=image.usage, cost=image.cost, quality_score=article.quality_score,
        model_key=article.model_key, is_outline=article.is_outline,
        quality_report={"provider": output["provider"], "warnings": output["warnings"],
                        "width": image.width, "height": image.height},
    )
    return {"version": version.number}


# --- format -------------------------------------------------------------------------------
def format_run(ctx) -> dict:
    # The text of the last QA round and the featured image (in a revision round, the image of the
    # first round: a revision rewrites the text only).
    article, with_image = version_of(ctx, "qa"), version_of(ctx, "image")
    research = research_of(ctx)
    formatted = format_article(article.body, fallback_title=article.title, sources=list(research.sources))
    return {"image_version": with_image.number, "formatted": formatted, "article_version": article.number}


def format_persist(ctx, output: dict) -> dict:
    with_image = ContentVersion.objects.get(task_id=ctx.task.pk, number=output["image_version"])
    article = ContentVersion.objects.get(task_id=ctx.task.pk, number=output.get("article_version", with_image.number))
    formatted = output["formatted"]
    cited = cited_numbers(formatted.body)
    sources = [s for s in (ctx.checkpoint_data("research") or {}).get("sources", []) if s["number"] in cited]
    version = version_create(
        task=ctx.task, phase=VersionPhase.FORMAT, title=formatted.title, body=formatted.body,
        body_html=formatted.body_html, excerpt=formatted.excerpt, seo=formatted.seo(), sources=sources,
        copy_image_from=with_image, quality_score=with_image.quality_score,
        model_key=article.model_key, is_outline=article.is_outline,
        quality_report=ContentVersion.objects.filter(task_id=ctx.task.pk, phase=VersionPhase.QA)
        .order_by("-number").values_list("quality_report", flat=True).first() or {},
    )
    return {"version": version.number}


# --- image_generation ---------------------------------------------------------------------
def generate_run(ctx) -> dict:
    task = ctx.task
    prompt = " ".join(part for part in (task.title, task.topic) if part)
    size = (task.metadata or {}).get("size", "1024x1024")
    generator = image_generator(task.model)
    image = call_with_retries(ctx, lambda: generator.generate(prompt=prompt, size=size, stop=ctx.check),
                              what=f"image: {generator.name}")
    return {"prompt": prompt, "image": image, "generator": generator.name}


def generate_persist(ctx, output: dict) -> dict:
    image: Image = output["image"]
    version = version_create(
        task=ctx.task, phase=VersionPhase.IMAGE, title=ctx.task.title or ctx.task.topic[:300], body=output["prompt"],
        image=image, usage=image.usage, cost=image.cost,
        quality_report={"generator": output["generator"], "width": image.width, "height": image.height},
    )
    return {"version": version.number}


BLOG_POST_STAGES = [
    Stage("research", run=research_run, persist=research_persist, weight=1),
    Stage("draft", run=draft_run, persist=draft_persist, weight=3, on_revision=True),
    Stage("qa", run=qa_run, persist=qa_persist, weight=3, on_revision=True),
    Stage("image", run=image_run, persist=image_persist, weight=1),
    Stage("format", run=format_run, persist=format_persist, weight=1, on_revision=True),
]

IMAGE_GENERATION_STAGES = [
    Stage("image", run=generate_run, persist=generate_persist, weight=1),
]
