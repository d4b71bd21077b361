"""The quote a research source gives: the run of sentences sharing most words with the brief,
found in one pass however many sentences a hostile page has."""

from __future__ import annotations

import random

from content.providers import research
from content.providers.research import relevant_passage


def runs_one_by_one(paragraph: str, query: str, limit: int) -> str:
    """The rule written out naively: every run of sentences, each tokenized whole (what
    `relevant_passage` did before it took one pass)."""
    terms = research._terms(query)
    sentences = research._SENTENCE_BREAK.split(paragraph)
    windows = []
    for start in range(len(sentences)):
        window = sentences[start]
        for sentence in sentences[start + 1:]:
            if len(window) + 1 + len(sentence) > limit:
                break
            window += " " + sentence
        windows.append(window)
    return research.excerpt(max(windows, key=lambda window: len(terms & research._terms(window))), limit)


def test_the_run_sharing_most_words_with_the_query_is_quoted():
    paragraph = ("Gardens need water. " * 20 + "Heat pumps move heat from outside air into a house. "
                 "A heat pump uses less electricity than a heater. " + "Bread rises overnight. " * 20)

    quote = relevant_passage([paragraph], "How a heat pump uses electricity in a house", limit=120)

    assert "Heat pumps move heat" in quote and "less electricity" in quote and "Bread" not in quote


def test_one_pass_quotes_what_every_run_one_by_one_quoted():
    words = "heat pump soil compost water energy house garden winter bread".split()
    rng = random.Random(13)
    for _ in range(300):
        sentences = [" ".join(rng.choices(words, k=rng.randint(1, 12))).capitalize() + rng.choice(".!?")
                     for _ in range(rng.randint(1, 40))]
        paragraph = " ".join(sentences)
        query = " ".join(rng.sample(words, rng.randint(1, 4)))
        limit = rng.choice([20, 60, 120, 300])
        if len(paragraph) <= limit:
            continue
        assert relevant_passage([paragraph], query, limit=limit) == runs_one_by_one(paragraph, query, limit)


def test_a_page_of_a_hundred_thousand_tiny_sentences_tokenizes_each_sentence_once(monkeypatch):
    calls = []
    tokenize = research._terms
    monkeypatch.setattr(research, "_terms", lambda text: calls.append(len(text)) or tokenize(text))
    paragraph = "Heat pumps. " + "A b. " * 100_000

    quote = relevant_passage([paragraph], "heat pumps")

    assert quote.startswith("Heat pumps.")
    # The query, the paragraph (to pick it), then each sentence once: before, each of the 100,001
    # runs of up to 60 sentences was tokenized again, 6 million sentences' worth.
    assert len(calls) == 2 + len(research._SENTENCE_BREAK.split(paragraph))
    assert sum(calls) < 3 * len(paragraph)
