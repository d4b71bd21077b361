"""Counting a Markdown article the way a reader would: words, sentences, syllables, readability.

`article_word_count` is the one rule for how long a piece is, used by the writers (to hit the
target length), the QA rubric (to score it), the versions (their `word_count`, which the admin and
the task pages show beside the report's) and reading times. A piece's words are those a reader
reads: the title, headings, prose, list items and link text. Markdown syntax, citation markers
like `[3]`, URLs, code fences and the Sources section the format stage appends are not words: the
section is rebuilt from the citations, so counting it would make the formatted piece longer than
the draft QA measured. `count_words` counts any fragment (a sentence, a title, a note) the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache

from content.citations import CITATION_GROUP, without_sources_section

_CODE_FENCE = re.compile(r"```.*?```", re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ0-9]+(?:['’][A-Za-z]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z0-9\"“‘(])")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


# Words too common to make a repeated three-word phrase read as repetition (QA rubric, writer).
STOPWORDS = frozenset({
    "the", "a", "an", "of", "to", "in", "and", "or", "is", "are", "for", "on", "it", "that", "this", "with", "as",
    "be", "by", "at", "from", "you", "your", "we", "our", "can", "will", "not",
})


def trigram_limit(word_count: int) -> int:
    """How often one three-word phrase may occur before it reads as repetition."""
    return max(3, 3 * word_count // 1000)


def plain_text(markdown: str) -> str:
    """The readable text of a Markdown document: no code, links reduced to their text, no markup."""
    text = _CODE_FENCE.sub(" ", markdown or "")
    text = _LINK.sub(r"\1", text)
    text = CITATION_GROUP.sub("", text)
    text = _URL.sub("", text)
    text = _MARKUP.sub("", text)
    return text.replace("*", "").replace("_", " ").replace("`", "")


def words(markdown: str) -> list[str]:
    return _WORD.findall(plain_text(markdown))


def count_words(markdown: str) -> int:
    return len(words(markdown))


def article_word_count(markdown: str) -> int:
    """How many words a piece has (the module's docstring says which count)."""
    return count_words(without_sources_section(markdown))


def sentences(markdown: str) -> list[str]:
    """Sentences of the prose (headings and list items each count as one)."""
    found = []
    source = _CODE_FENCE.sub(" ", markdown or "")
    for raw in re.split(r"\n\s*\n|\n(?=\s{0,3}(?:#{1,6}\s|>|[-*+]\s|\d+[.)]\s))", source):
        block = " ".join(plain_text(raw).split())
        if not block:
            continue
        found.extend(part for part in _SENTENCE_END.split(block) if _WORD.search(part))
    return found


@lru_cache(maxsize=20_000)
def syllables(word: str) -> int:
    word = word.lower().strip("'’")
    if not word:
        return 0
    if word.isdigit():
        return max(1, len(word) // 2)
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def flesch_reading_ease(markdown: str) -> float:
    """Flesch reading ease: 206.835 − 1.015·(words/sentences) − 84.6·(syllables/words).

    About 60–70 is plain English, 30–50 is college level, below 30 is academic.
    """
    all_words = words(markdown)
    sentence_count = max(1, len(sentences(markdown)))
    if not all_words:
        return 0.0
    syllable_count = sum(syllables(word) for word in all_words)
    return 206.835 - 1.015 * (len(all_words) / sentence_count) - 84.6 * (syllable_count / len(all_words))


def average_sentence_length(markdown: str) -> float:
    found = sentences(markdown)
    return (sum(len(_WORD.findall(sentence)) for sentence in found) / len(found)) if found else 0.0
