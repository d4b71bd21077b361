"""The provider interfaces and the data they exchange with the pipeline.

Stages talk to providers only through these types. A text model is asked for an outline, an
article, a revision and (optionally) a critique; the offline writer answers them directly, chat
models (OpenAI-compatible, Anthropic) answer them through prompts (`chat.ChatTextModel`).
Every call returns its token usage so cost can be recorded per stage.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.exceptions import PermanentError

# Called by providers between streamed chunks and before slow steps; raises to stop the work
# (cancellation, deadline). Providers must call it at least once per received chunk.
StopCheck = Callable[[], None]


def no_stop_check() -> None:
    return None


@dataclass(frozen=True)
class Brief:
    """What to write, as the editor asked for it (a read-only view of the task's brief)."""

    topic: str
    title: str = ""
    word_count: int = 1000
    word_count_tolerance: int = 10
    style: str = "educational"
    tone: str = "professional"
    target_audience: str = ""
    primary_keyword: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()

    @property
    def word_range(self) -> tuple[int, int]:
        margin = self.word_count * self.word_count_tolerance / 100
        return int(self.word_count - margin), int(self.word_count + margin + 0.9999)


@dataclass(frozen=True)
class Source:
    """A numbered research source; the article cites it as `[number]`."""

    number: int
    title: str
    url: str = ""
    quote: str = ""
    kind: str = "web"  # web, pasted, internal, search


@dataclass(frozen=True)
class Research:
    notes: str  # Markdown notes that the writer uses
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Outline:
    title: str
    sections: tuple[str, ...]  # section headings, in order, not counting introduction and conclusion


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True)
class TextResult:
    text: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class OutlineResult:
    outline: Outline
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Revision:
    """What the QA loop asks the writer to change, concretely."""

    instructions: tuple[str, ...]  # human-readable findings, e.g. "Expand to 1,150–1,250 words."
    target_words: int | None = None  # expand/shorten towards this count
    add_sections: tuple[str, ...] = ()  # headings of sections to add
    remove_phrases: tuple[str, ...] = ()  # placeholders or repeated phrases to remove


class TextModel(ABC):
    """A model that writes. One instance serves one task run; it is not shared across threads."""

    key: str  # the catalog key, recorded on versions (`model_key`)

    @abstractmethod
    def outline(self, brief: Brief, research: Research, *, stop: StopCheck = no_stop_check) -> OutlineResult:
        """Plan the article: a title and the section headings between introduction and conclusion."""

    @abstractmethod
    def write(
        self, brief: Brief, research: Research, outline: Outline, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        """Write the article in Markdown: `# Title`, an introduction, one `## Section` per outline
        heading, a `## Conclusion`. Claims taken from a source carry its `[n]` citation."""

    @abstractmethod
    def revise(
        self, brief: Brief, research: Research, article: str, revision: Revision, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        """Return the whole article again with the requested changes made."""

    def critique(self, brief: Brief, article: str, *, stop: StopCheck = no_stop_check) -> TextResult | None:
        """An editor's critique in a few sentences, or None when the model offers none (offline)."""
        return None


@dataclass(frozen=True)
class Image:
    """An image ready to store: encoded bytes and where it came from."""

    content: bytes
    content_type: str  # image/png, image/jpeg, image/webp
    width: int
    height: int
    alt: str
    credit: str = ""  # e.g. "Photo by Jane Doe on Pexels"
    credit_url: str = ""
    source_url: str = ""
    thumbnail: bytes | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0  # USD, for paid generation


class ImageSource(ABC):
    """Finds or makes a featured image for a piece."""

    name: str

    @abstractmethod
    def featured_image(
        self, *, title: str, topic: str, category: str, keywords: tuple[str, ...], stop: StopCheck = no_stop_check
    ) -> Image:
        """A 1200×630 (social card) image for the piece, with a thumbnail when the source has one."""


class ImageGenerator(ABC):
    """Generates an image from a prompt (the `image_generation` task type)."""

    name: str

    @abstractmethod
    def generate(self, *, prompt: str, size: str = "1024x1024", stop: StopCheck = no_stop_check) -> Image:
        """One image for the prompt."""


class ResearchSource(ABC):
    """Contributes sources for a brief: pasted text, fetched URLs, our own posts, a search engine."""

    name: str

    @abstractmethod
    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        """Sources for the brief (numbering is assigned by the caller; use 0). `inputs` is the
        task's `metadata["research"]` ({"text": "...", "urls": [...]}); ignore what does not apply."""


def api_key_from_environment(variable: str) -> str:
    """The API key held by `variable`; a clear permanent error naming the variable if unset."""
    if not variable:
        return ""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise PermanentError(f"The API key variable {variable} is not set; set it in the environment of the workers.")
    return value
