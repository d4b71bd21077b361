"""`OfflineTextModel`: the `TextModel` that writes from the research alone.

`outline` plans from the material (or, with none, the outline plan); `write` composes the
grounded piece or returns the labelled outline (`TextResult.outline_only`); `revise` acts on a
`Revision`'s structured fields only — never on its findings or the reviewer's words, which are
for people and chat models — by moving, adding and cutting sentences of the material, so a
revision can reach only as far as the material does. Same input, same output: nothing is random.
It offers no critique. Imports flow from here to `composer`, `outline`, `ranking`, `material`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict

from content.citations import cited_numbers
from content.providers.base import (
    TOKENS_PER_WORD,
    Brief,
    KeywordChange,
    Outline,
    OutlineResult,
    Research,
    Revision,
    StopCheck,
    TextModel,
    TextResult,
    Usage,
    estimate_tokens,
    no_stop_check,
)
from content.providers.offline import outline as plan
from content.providers.offline.composer import (
    Article,
    Paragraph,
    Part,
    attributed,
    compose,
    is_conclusion,
    is_repeat,
    parse,
    passage_of,
    ranked,
    select,
)
from content.providers.offline.material import Material, Passage, collect, normalized
from content.providers.offline.ranking import Ranker, key_phrase, named_terms, terms
from content.textstats import count_words

# Fewer usable sentences than this make no article: an introduction and one section at least.
MIN_SENTENCES = 3
# "Reduce" the keyword: cut sentences carrying it while it makes up more than this share of words.
KEYWORD_SHARE_MAX = 0.025
LENGTH_SLACK = 0.02  # a revision to a length stops within 2 % of it
# The heading of an asked-for section whose material neither speaks to the heading asked for nor
# shares a theme of its own: what it holds, and no more.
MORE_HEADING = "Also Worth Knowing"


def estimate_usage(prompt_text: str, output_text: str) -> Usage:
    """Tokens a chat model would have used for the same job (the prompt's characters, the
    article's words): the offline model costs nothing, the estimate only keeps usage comparable
    across models and with the estimate made before the run."""
    return Usage(input_tokens=estimate_tokens(prompt_text),
                 output_tokens=math.ceil(count_words(output_text) * TOKENS_PER_WORD))


def _prompt_text(brief: Brief, research: Research, *extra: str) -> str:
    sources = "\n".join(f"[{s.number}] {s.title} {s.url} {s.quote}" for s in research.sources)
    return "\n".join([json.dumps(asdict(brief), sort_keys=True), research.notes or "", sources, *extra])


def _query(brief: Brief) -> str:
    return " ".join([brief.topic, brief.title, brief.primary_keyword, brief.category, *brief.tags])


class OfflineTextModel(TextModel):
    """Writes from the material, outlines without it, revises by the revision's fields."""

    key = "offline"

    # --- the TextModel interface ---------------------------------------------------------------
    def outline(self, brief: Brief, research: Research, *, stop: StopCheck = no_stop_check) -> OutlineResult:
        stop()
        material, ranker = self._material(brief, research)
        if self._too_little(material, ranker):
            sections = tuple(section.heading for section in plan.plan(brief))
            result = Outline(title=plan.title_for(brief), sections=sections)
        else:
            article = compose(brief, material, ranker)
            result = Outline(title=article.title, sections=tuple(p.heading for p in article.sections()))
        usage = estimate_usage(_prompt_text(brief, research), "\n".join((result.title, *result.sections)))
        return OutlineResult(outline=result, usage=usage)

    def write(self, brief: Brief, research: Research, outline: Outline, *,
              stop: StopCheck = no_stop_check) -> TextResult:
        stop()
        material, ranker = self._material(brief, research)
        title = " ".join(outline.title.split()) or plan.title_for(brief)
        if self._too_little(material, ranker):
            text = self._outline_text(brief, title, outline.sections)
            return TextResult(text=text, usage=estimate_usage(_prompt_text(brief, research), text),
                              outline_only=True)
        stop()
        text = compose(brief, material, ranker, title=title).render()
        prompt = _prompt_text(brief, research, outline.title, *outline.sections)
        return TextResult(text=text, usage=estimate_usage(prompt, text))

    def revise(self, brief: Brief, research: Research, article: str, revision: Revision, *,
               stop: StopCheck = no_stop_check) -> TextResult:
        """The article with the revision's structured changes made, in this order: phrases cut
        (a sentence left without sense goes), off-topic sentences cut (`stay_on_topic`),
        requested sections added from unused material (or split off the longest section when
        none is left), uncited sources cited with a sentence of theirs (`cite_sources`), the
        keyword placed or thinned, the audience named, then the length fitted — to
        `target_words`, or back into the brief's range when the changes left it — with unused
        material, as far as it goes. `follow_tone` changes nothing: the sentences are the
        sources' own, and rewording them would put words in their mouths."""
        stop()
        material, ranker = self._material(brief, research)
        if plan.is_outline(article) or self._too_little(material, ranker):
            headings = [h for h in plan.headings(article) if not is_conclusion(h)]
            headings += [h for h in revision.add_sections if not is_conclusion(h) and h not in headings]
            text = self._outline_text(brief, parse(article, plan.title_for(brief)).title, tuple(headings))
            return TextResult(text=text, usage=estimate_usage(_prompt_text(brief, research, article), text),
                              outline_only=True)
        piece = parse(article, plan.title_for(brief))
        for phrase in (p.strip() for p in revision.remove_phrases):
            if phrase:
                _cut_phrase(piece, phrase)
        if revision.stay_on_topic:
            _drop(piece, lambda sentence: not ranker.on_topic(sentence))
        stop()
        unused = self._unused(piece, material, ranker)
        # Sections the material speaks to take their material first.
        for heading in sorted(revision.add_sections, key=lambda h: not _speaks_to(h, unused, ranker)):
            self._add_section(piece, heading.strip(), unused, ranker, material, brief)
        if revision.cite_sources:
            self._cite_sources(piece, unused, ranker, material)
        if revision.keyword and brief.primary_keyword:
            self._keyword(piece, brief.primary_keyword, unused, ranker, material,
                          reduce=revision.keyword == KeywordChange.REDUCE)
        if revision.mention_audience and brief.target_audience:
            self._name_audience(piece, brief.target_audience)
        stop()
        target = revision.target_words
        low, high = brief.word_range
        if target is None and not low <= piece.words <= high:
            target = brief.word_count
        if target:
            self._fit(piece, target, unused, ranker, material)
        text = piece.render()
        return TextResult(text=text, usage=estimate_usage(_prompt_text(brief, research, article), text))

    def critique(self, brief: Brief, article: str, *, stop: StopCheck = no_stop_check) -> TextResult | None:
        return None

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _material(brief: Brief, research: Research) -> tuple[Material, Ranker]:
        material = collect(research)
        return material, Ranker([p.text for p in material.passages], _query(brief))

    @staticmethod
    def _too_little(material: Material, ranker: Ranker) -> bool:
        return len(ranked(material, ranker)) < MIN_SENTENCES

    @staticmethod
    def _outline_text(brief: Brief, title: str, headings: tuple[str, ...]) -> str:
        planned = {section.heading: section for section in plan.plan(brief)}
        sections = [planned.get(h) or plan.section_for(h, brief) for h in headings if not is_conclusion(h)]
        return plan.render(brief, title, sections or plan.plan(brief))

    @staticmethod
    def _unused(piece: Article, material: Material, ranker: Ranker) -> list[Passage]:
        used = {normalized(passage.text) for s in _all_sentences(piece) if (passage := passage_of(s, material))}
        texts = _all_sentences(piece)
        return [p for p in ranked(material, ranker)
                if normalized(p.text) not in used and not is_repeat(p.text, texts, ranker)]

    @staticmethod
    def _home(piece: Article, text: str, ranker: Ranker) -> Part:
        """The section a sentence fits best (the introduction when there is none)."""
        sections = piece.sections() or [piece.intro]
        return max(sections, key=lambda part: (
            ranker.similarity(text, " ".join([part.heading, *part.sentences()])), -sections.index(part)))

    def _add_section(self, piece: Article, heading: str, unused: list[Passage], ranker: Ranker,
                     material: Material, brief: Brief) -> None:
        """A section before the conclusion, of unused material (or the second half of the
        longest section when none is left). It takes the requested heading only when its material
        speaks to it — shares a word the heading names its subject by ("costs", "worm
        composting") — and is otherwise headed by what its own sentences say, as the composer
        heads sections: a heading promising "common questions" over sentences that answer none
        would pretend."""
        plain = _unnumbered(heading.lstrip("#").strip())
        if not plain or plain.lower() in {_unnumbered(p.heading).lower() for p in piece.parts}:
            return
        if is_conclusion(plain):
            if piece.conclusion() is None and unused:
                closing = max(unused, key=lambda p: (ranker.to_material(p.text), -p.position))
                unused.remove(closing)
                piece.parts.append(Part(plain, [Paragraph([_cited(closing, piece, material)])]))
            return
        named = named_terms(plain, ranker)
        about = [p for p in unused if _names_any(named, p.text)]
        budget = max(40, brief.word_count // (len(piece.sections()) + 3))
        fitting = sorted(about or unused,
                         key=lambda p: (-(ranker.similarity(p.text, plain) + ranker.score(p.text)), p.position))
        chosen = select(fitting, ranker, words=budget, ceiling=budget * 2, already=_all_sentences(piece))
        if chosen:
            for passage in chosen:
                unused.remove(passage)
            chosen.sort(key=lambda p: p.position)
            paragraphs = [Paragraph([_cited(p, piece, material) for p in chosen])]
        else:
            donor = max(piece.sections(), key=lambda part: len(part.paragraphs), default=None)
            if donor is None or len(donor.paragraphs) < 2:
                return
            half = len(donor.paragraphs) // 2
            paragraphs, donor.paragraphs = donor.paragraphs[half:], donor.paragraphs[:half]
        texts = [sentence for paragraph in paragraphs for sentence in paragraph.sentences]
        if not any(_names_any(named, text) for text in texts):
            elsewhere = [s for s in _all_sentences(piece) if s not in texts]
            taken = [piece.title, plan.subject(brief), *(part.heading for part in piece.parts[1:])]
            plain = plan.title_case(key_phrase(texts, elsewhere, ranker, avoid=taken, themes_only=True)) or MORE_HEADING
            same = next((part for part in piece.sections() if _unnumbered(part.heading) == plain), None)
            if same is not None:
                same.paragraphs += paragraphs  # one section of further points, never two
                return
        numbered = piece.sections() and all(re.match(r"^\d+[.)]\s", p.heading) for p in piece.sections())
        shown = f"{len(piece.sections()) + 1}. {plain}" if numbered else plain
        conclusion = piece.conclusion()
        position = piece.parts.index(conclusion) if conclusion else len(piece.parts)
        piece.parts.insert(position, Part(shown, paragraphs))

    def _cite_sources(self, piece: Article, unused: list[Passage], ranker: Ranker, material: Material) -> None:
        """Each public source not cited yet is cited once, with its best sentence not yet used; a
        source with no usable sentence stays uncited (a citation must stand on its words)."""
        cited = cited_numbers(piece.render())
        for source in material.sources:
            if source.number in cited:
                continue
            passage = next((p for p in unused if p.number == source.number), None)
            if passage is None:
                continue
            unused.remove(passage)
            self._place(piece, passage, ranker, material)

    def _place(self, piece: Article, passage: Passage, ranker: Ranker, material: Material) -> None:
        home = self._home(piece, passage.text, ranker)
        text = _cited(passage, piece, material)
        prose = [paragraph for paragraph in home.paragraphs if not paragraph.raw]
        if prose and len(prose[-1].sentences) < 5:
            prose[-1].sentences.append(text)
        else:
            home.paragraphs.append(Paragraph([text]))

    def _keyword(self, piece: Article, keyword: str, unused: list[Passage], ranker: Ranker, material: Material,
                 *, reduce: bool) -> None:
        pattern = re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)
        opening = piece.intro.paragraphs[0].render() if piece.intro.paragraphs else ""
        if not pattern.search(piece.title) and not pattern.search(opening):
            carrier = next((p for p in unused if pattern.search(p.text)), None)
            if carrier is not None:
                unused.remove(carrier)
                text = _cited(carrier, piece, material)
            else:
                text = next((s for part in piece.parts[1:] for s in part.sentences() if pattern.search(s)), None)
                if text is not None:
                    _drop(piece, lambda sentence, moved=text: sentence == moved)
            if text is not None:
                if piece.intro.paragraphs and not piece.intro.paragraphs[0].raw:
                    piece.intro.paragraphs[0].sentences.insert(0, text)
                else:
                    piece.intro.paragraphs.insert(0, Paragraph([text]))
        if not reduce:
            return
        keyword_words = count_words(keyword)
        while True:
            share = len(pattern.findall(piece.render())) * keyword_words / max(piece.words, 1)
            carriers = [s for part in piece.parts for s in part.sentences()[1:] if pattern.search(s)]
            if share <= KEYWORD_SHARE_MAX or not carriers:
                return
            weakest = min(carriers, key=lambda s: (ranker.score(s), -len(s)))
            _drop(piece, lambda sentence, gone=weakest: sentence == gone, limit=1)

    @staticmethod
    def _name_audience(piece: Article, audience: str) -> None:
        audience = " ".join(audience.split()).rstrip(".")
        if audience.lower() in piece.render().lower():
            return
        line = f"This piece is written for {audience}."
        if piece.intro.paragraphs and not piece.intro.paragraphs[0].raw:
            piece.intro.paragraphs[0].sentences.append(line)
        else:
            piece.intro.paragraphs.insert(0, Paragraph([line]))

    def _fit(self, piece: Article, target: int, unused: list[Passage], ranker: Ranker, material: Material) -> None:
        """Grow with unused material (best first) or cut the weakest sentences, to about `target`."""
        low, high = round(target * (1 - LENGTH_SLACK)), round(target * (1 + LENGTH_SLACK))
        words = piece.words
        for passage in list(unused):
            if words >= low:
                break
            if words + passage.words > high or is_repeat(passage.text, _all_sentences(piece), ranker):
                continue
            unused.remove(passage)
            self._place(piece, passage, ranker, material)
            words = piece.words
        protected = _first_citations(piece)
        while words > high:
            cuttable = [s for part in piece.parts for s in part.sentences()[1:] if s not in protected]
            if not cuttable:
                cuttable = [s for part in piece.parts[1:] for s in part.sentences() if s not in protected]
            if not cuttable:
                return
            weakest = min(cuttable, key=lambda s: (ranker.score(s), -len(s)))
            _drop(piece, lambda sentence, gone=weakest: sentence == gone, limit=1)
            words = piece.words


def _speaks_to(heading: str, passages: list[Passage], ranker: Ranker) -> bool:
    """Whether any of `passages` shares a word by which `heading` names its subject."""
    named = named_terms(heading, ranker)
    return any(_names_any(named, passage.text) for passage in passages)


def _names_any(named: set[str], text: str) -> bool:
    """Whether `text` uses one of the `named` words (stemmed, as `named_terms` gives them)."""
    return not named.isdisjoint(terms(text))


def _unnumbered(heading: str) -> str:
    return re.sub(r"^\d+[.)]\s*", "", heading)


def _all_sentences(piece: Article) -> list[str]:
    return [s for part in piece.parts for s in part.sentences()]


def _cited(passage: Passage, piece: Article, material: Material) -> str:
    """The passage as cited text, its source named only the first time the piece uses it."""
    already = cited_numbers(piece.render())
    return passage.cited if passage.number is None or passage.number in already else attributed(passage, material)


def _first_citations(piece: Article) -> set[str]:
    """The first sentence citing each source: cutting it would drop the source from the piece."""
    seen, keep = set(), set()
    for sentence in _all_sentences(piece):
        for number in cited_numbers(sentence):
            if number not in seen:
                seen.add(number)
                keep.add(sentence)
    return keep


def _drop(piece: Article, unwanted, *, limit: int | None = None) -> None:
    """Remove sentences for which `unwanted(sentence)` holds (at most `limit`), and empty parts."""
    removed = 0
    for part in piece.parts:
        for paragraph in part.paragraphs:
            if paragraph.raw:
                continue
            kept = []
            for sentence in paragraph.sentences:
                if (limit is None or removed < limit) and unwanted(sentence):
                    removed += 1
                    continue
                kept.append(sentence)
            paragraph.sentences = kept
        part.paragraphs = [p for p in part.paragraphs if p.raw or p.sentences]
    piece.parts = [piece.parts[0]] + [part for part in piece.parts[1:] if part.paragraphs]


def _cut_phrase(piece: Article, phrase: str) -> None:
    """Cut every occurrence of `phrase`; a sentence left with fewer than three words goes."""
    pattern = re.compile(re.escape(phrase), re.IGNORECASE)
    piece.title = " ".join(pattern.sub(" ", piece.title).split()) or piece.title
    for part in piece.parts:
        for paragraph in part.paragraphs:
            if paragraph.raw:
                paragraph.raw = re.sub(r"[ \t]{2,}", " ", pattern.sub("", paragraph.raw))
                continue
            mended = []
            for sentence in paragraph.sentences:
                if pattern.search(sentence):
                    sentence = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(pattern.sub(" ", sentence).split()))
                    if count_words(sentence) < 3:
                        continue
                mended.append(sentence)
            paragraph.sentences = mended
        part.paragraphs = [p for p in part.paragraphs if (p.raw.strip() if p.raw else p.sentences)]
