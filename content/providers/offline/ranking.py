"""How much a sentence of the material matters for the brief: TF-IDF over the material's sentences.

A sentence scores by its cosine similarity to the brief (topic, title, keyword, tags, category)
and to the material as a whole (its centroid): the first keeps the piece on the brief, the second
prefers sentences that say what the sources agree on over asides — the centroid method of
extractive summarisation. The same vectors group sentences into sections and name them (the
phrase a group says most, weighed by how rare it is elsewhere). Plain Python, deterministic,
nothing to download. This module imports only `content.citations` (citations are not words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from content.citations import CITATION

QUERY_WEIGHT, CENTROID_WEIGHT = 0.65, 0.35
# A sentence sharing no word with the brief is kept only if it is this close to the material's
# centre: the editor pasted it, so it is probably on the subject in other words.
CENTROID_FLOOR = 0.12

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just like may me might more most much must my no nor not now of
off often on once one only or other our ours out over own per same she should so some such than that the their
theirs them then there these they this those through to too under until up upon very was way we well were what
when where which while who whom why will with within without would yet you your yours get got make many new
use used using every cannot can't won't don't doesn't didn't isn't aren't wasn't weren't shouldn't wouldn't couldn't
mustn't hasn't haven't hadn't
""".split())
_NOT_NOUNS = frozenset("""enough large small big many much often well good better best less more high low long short
mature year years month months week weeks day days time times part parts thing things lot kind
rather first last same different important possible likely able cheap cheaper expensive easy hard new old warm hot cold
cool side
""".split())
# Numbers written as words count as numbers: like digits they are no part of a heading's phrase
# ("ten square metres" gives "square metres", never a heading "Ten").
NUMBER_WORDS = frozenset("""zero two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand
thousands million millions billion billions trillion trillions dozen dozens second third fourth fifth sixth seventh
eighth ninth tenth eleventh twelfth twentieth hundredth thousandth thirds fourths fifths tenths half halves
""".split())
# Words after which the next word is a noun ("a diverter", "of water", "two barrels"): a heading of
# one word must appear after one of them at least once, so that a verb ("the house keeps its
# heat", "to keep them warm") never heads a section. "that" and "to" are left out: verbs follow them.
_NOUN_CUES = frozenset("""a an the this these those its their our your his her my each every some any no of in on
at from with into for by about through under over without within between per upon across around behind beside
near among during against towards toward
""".split()) | NUMBER_WORDS
# Words that follow a verb, never a noun ("the lid keeps the water clean"): a phrase ever followed
# by one of them ends on a verb and heads nothing.
_OBJECT_CUES = frozenset("a an the this these those its their our your his her my them him us".split())
_CLAUSE_BREAK = re.compile(r"[.,;:!?()\"“”]+(?:\s|$)|\s[–—-]\s")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]|[0-9]+(?:[.,][0-9]+)?%?|[A-Za-z]")


def stem(word: str) -> str:
    """A light English stem, enough to match "pumps" with "pump" and "costs" with "cost"."""
    word = word.lower().replace("’", "'").removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The content words of `text`, stemmed, in order."""
    return [stem(token) for token in _TOKEN.findall(text)
            if _folded(token) not in STOPWORDS and len(token) > 2 and not token[0].isdigit()]


def _folded(token: str) -> str:
    """A token as the word lists spell it: lower case, with a straight apostrophe ("can’t")."""
    return token.lower().replace("’", "'")


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(weight * large.get(term, 0.0) for term, weight in small.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


class Ranker:
    """TF-IDF vectors over a set of sentences, the brief as a query and the sentences' centroid."""

    def __init__(self, texts: Sequence[str], query: str):
        documents = [terms(text) for text in texts]
        frequency = Counter(term for document in documents for term in set(document))
        count = len(documents)
        self.idf = {term: math.log((1 + count) / (1 + df)) + 1 for term, df in frequency.items()}
        self.unseen_idf = math.log(1 + count) + 1
        self.query_terms = set(terms(query))
        self.query = self.vector(query)
        centroid: Counter = Counter()
        for document in documents:
            centroid.update(self._weights(document))
        self.centroid = dict(centroid)

    def _weights(self, document: list[str]) -> dict[str, float]:
        counts = Counter(document)
        return {term: (1 + math.log(n)) * self.idf.get(term, self.unseen_idf) for term, n in counts.items()}

    def vector(self, text: str) -> dict[str, float]:
        return self._weights(terms(text))

    def similarity(self, a: str, b: str) -> float:
        return _cosine(self.vector(a), self.vector(b))

    def to_brief(self, text: str) -> float:
        return _cosine(self.vector(text), self.query)

    def to_material(self, text: str) -> float:
        return _cosine(self.vector(text), self.centroid)

    def score(self, text: str) -> float:
        return QUERY_WEIGHT * self.to_brief(text) + CENTROID_WEIGHT * self.to_material(text)

    def on_topic(self, text: str) -> bool:
        """Whether a sentence belongs in a piece on the brief at all."""
        return self.to_brief(text) > 0 or self.to_material(text) >= CENTROID_FLOOR


def key_phrase(texts: Iterable[str], elsewhere: Iterable[str], ranker: Ranker, *, avoid: Iterable[str] = (),
               themes_only: bool = False) -> str:
    """The phrase (one to four content words in a row, as written) that `texts` say most and
    the rest of the material least; "" when none stands out. Phrases made only of the brief's
    own words, or found in `avoid` (other headings, the title), are passed over: a heading should
    say what its section adds. With `themes_only`, a phrase said once never stands out."""
    avoided = [f" {' '.join(terms(phrase))} " for phrase in avoid]
    here, there = _phrases(texts), _phrases(elsewhere)
    best, best_score = "", 0.0
    repeated = themes_only or any(count > 1 for count, *_ in here.values())
    for key, (count, shown, after_cue, ends_on_verb) in sorted(here.items()):
        if repeated and count < 2:
            continue  # a theme is something the section says more than once
        words = key.split()
        if any(f" {key} " in taken for taken in avoided) or set(words) <= ranker.query_terms or not _names_a_thing(shown):
            continue
        if ends_on_verb or len(words) == 1 and not after_cue:
            continue  # a verb ("keeps"), or a phrase ending on one ("lid keeps")
        rarity = sum(ranker.idf.get(word, ranker.unseen_idf) for word in words) / len(words)
        score = count * rarity * len(words) ** 1.5 / (1 + there.get(key, (0,))[0])
        if count >= 1 and score > best_score:
            best, best_score = shown, score
    return best


# Words that qualify what a heading is about without naming it: "common questions", "practical
# steps", "what to watch next".
_QUALIFIERS = frozenset("common practical next watch key main basic general other further final".split())


def named_terms(heading: str, ranker: Ranker) -> set[str]:
    """The words (stemmed) by which `heading` names what its section is about: not the brief's
    own words, which every sentence of the piece may share, and not qualifiers."""
    return {term for term in terms(heading)
            if term not in ranker.query_terms and term not in _QUALIFIERS and term not in _NOT_NOUNS}


def _names_a_thing(phrase: str) -> bool:
    """Whether a phrase can stand as a heading: it ends on a word that can be a noun (not an
    adverb, not one of the common adjectives and quantifiers)."""
    last = phrase.split()[-1].lower()
    return not (last.endswith("ly") or last in _NOT_NOUNS or stem(last) in _NOT_NOUNS or last.endswith(("ing", "ed")) and len(phrase.split()) == 1)


def _phrases(texts: Iterable[str]) -> dict[str, tuple[int, str, bool, bool]]:
    """Runs of one to four content words in `texts`: stemmed key → (the number of texts saying
    it, its first spelling, whether it ever followed a noun cue such as "a", "of" or a number,
    whether it was ever followed by an object cue such as "the" or "its")."""
    found: dict[str, tuple[int, str, bool, bool]] = {}
    for text in texts:
        seen: dict[str, tuple[str, bool]] = {}  # a phrase counts once per text ("side by side")
        for clause in _CLAUSE_BREAK.split(CITATION.sub(" ", text)):
            run: list[str] = []
            before = ""  # the word before the run
            for token in [*_TOKEN.findall(clause), ""]:
                word = _folded(token)
                if word and word not in STOPWORDS and word not in NUMBER_WORDS and len(word) > 2 and not word[0].isdigit():
                    run.append(token)
                    continue
                for size in (1, 2, 3, 4):
                    for start in range(len(run) - size + 1):
                        words = run[start:start + size]
                        key = " ".join(stem(word) for word in words)
                        cued = start == 0 and (before in _NOUN_CUES or before[:1].isdigit())
                        ends_on_verb = start + size == len(run) and word in _OBJECT_CUES
                        shown, after_cue, verb = seen.get(key, (" ".join(words), False, False))
                        seen[key] = (shown, after_cue or cued, verb or ends_on_verb)
                run = []
                before = word
        for key, (shown, cued, verb) in seen.items():
            count, first, after_cue, ends_on_verb = found.get(key, (0, shown, False, False))
            found[key] = (count + 1, first, after_cue or cued, ends_on_verb or verb)
    return found
