"""The provider interfaces and the data they exchange with the pipeline.

Stages talk to providers only through these types. A text model is asked for an outline, an
article, a revision and (optionally) a critique; the offline writer answers them directly, chat
models (OpenAI-compatible, Anthropic) answer them through prompts (`chat.ChatTextModel`).
Every call returns its token usage so cost can be recorded per stage.
"""

from __future__ import annotations

import functools
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from tasks.exceptions import PermanentError, StageError, TransientError

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

    @property
    def is_private(self) -> bool:
        """The editor's own pasted notes (no address of their own): material a writer may use, never
        a public source to cite, list or name. A pasted block that names its page ("Source: URL")
        quotes that page and is citable. The one rule for writers, the rubric and the blog."""
        return self.kind == "pasted" and not self.url

    @property
    def link(self) -> str:
        """The URL when a page may link to it (http or https), else "": a stored `javascript:` or
        `data:` URL is never printed as a link."""
        return self.url if self.url.startswith(("https://", "http://")) else ""

    @classmethod
    def from_stored(cls, raw) -> Source | None:
        """A source as versions and posts store it (a JSON object), or None when the entry cannot
        be read as one: stored JSON may hold anything (a string, a number that is a list)."""
        if not isinstance(raw, dict):
            return None
        try:
            return cls(number=int(raw.get("number") or 0), title=str(raw.get("title") or ""),
                       url=str(raw.get("url") or ""), quote=str(raw.get("quote") or ""),
                       kind=str(raw.get("kind") or "web"))
        except (TypeError, ValueError, OverflowError):
            return None


def stored_sources(value) -> list[Source]:
    """The entries of a stored sources list (a version's or a post's JSON) that read as sources."""
    return [source for source in map(Source.from_stored, value if isinstance(value, list) else [])
            if source is not None]


@dataclass(frozen=True)
class Research:
    notes: str  # Markdown notes that the writer uses
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Outline:
    title: str
    sections: tuple[str, ...]  # section headings, in order, not counting introduction and conclusion


# How text maps to model tokens where no tokenizer is at hand: about four characters of English,
# or 1.33 tokens per word (a token is about three quarters of a word, the rule of thumb OpenAI and
# Anthropic give). One ratio for the estimate before a run (`content.costs`), a chat call's output
# budget (`chat`) and the usage the offline writer reports, so the three agree. 1.33, not the 1.3
# the writers used: it is the figure the estimate API has always shown, so no estimate changes.
CHARACTERS_PER_TOKEN = 4
TOKENS_PER_WORD = 1.33


def estimate_tokens(text: str) -> int:
    """A rough token count of `text`, for budgets and for usage a provider does not report."""
    return math.ceil(len(text) / CHARACTERS_PER_TOKEN)


# More tokens than any one call can use: a larger count in a provider's answer is not a count.
TOKENS_MAX = 100_000_000


def token_count(value, *, provider: str) -> int:
    """A token count from a provider's usage block (None or absent: 0). Anything but a whole
    number from 0 to TOKENS_MAX (text, a negative, 1e400 read as infinity, 10**30) fails the call
    permanently, naming it: it would be charged as a cost, or fail later in a column."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= TOKENS_MAX:
        raise PermanentError(f"{provider} reported a token count that is not one: {str(value)[:40]!r}.")
    return value


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
    # A plan of the piece (title, sections, what to cover), not an article: the writer had no
    # material to write from. The pipeline marks its versions, and review refuses to approve them.
    outline_only: bool = False


@dataclass(frozen=True)
class OutlineResult:
    outline: Outline
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class AnswerNotice:
    """Something a text model must tell the running stage about an answer it received.

    `usage` is set when the answer was rejected (cut off, empty, unreadable, unchanged): the
    provider charged for it, no version will carry it, so the stage adds it to the task's totals.
    It is None for a notice about an answer that was kept (its usage travels with the result).
    `reason` is a short code for the event's data ("truncated", "empty", "unreadable"...).
    """

    reason: str
    message: str
    usage: Usage | None = None


# Called by a text model with each `AnswerNotice`; the pipeline records it as a task event.
AnswerListener = Callable[[AnswerNotice], None]


def no_listener(notice: AnswerNotice) -> None:
    return None


class TruncatedAnswer(PermanentError):
    """A model stopped at its output-token limit (`finish_reason: "length"`, `stop_reason:
    "max_tokens"`): the answer is cut off, never an article. Carries the partial text and the
    usage the provider charged for it, and the limit it hit (when the caller knows it).
    Permanent when it escapes: the chat model has already retried once with a larger limit."""

    def __init__(self, message: str, *, text: str = "", usage: Usage | None = None, max_tokens: int | None = None):
        super().__init__(message)
        self.text = text
        self.usage = usage or Usage()
        self.max_tokens = max_tokens


class FilteredAnswer(PermanentError):
    """A model's answer stopped by the provider's content filter or the model's refusal
    (`finish_reason: "content_filter"`, `stop_reason: "refusal"`): what came is partial, never an
    article. Unlike a cut-off answer, a larger limit cannot mend it; the brief has to change.
    Carries the usage the provider charged for it."""

    def __init__(self, message: str, *, usage: Usage | None = None):
        super().__init__(message)
        self.usage = usage or Usage()


# The reasons a reviewer may give for rejecting a version, each with its plain meaning (shown to
# chat models next to the code, and to people wherever reasons are listed).
REVIEW_REASONS: dict[str, str] = {
    "factual_error": "a claim is wrong or not backed by the sources",
    "off_topic": "the piece strays from the topic it was asked to cover",
    "tone": "the tone does not fit the brief",
    "length": "the piece is too long or too short",
    "structure": "sections are missing or the piece is badly organised",
    "quality": "the writing is weak: vague, repetitive or hard to read",
    "sources": "claims are not backed by citations of the research sources",
    "other": "see the reviewer's words",
}
REVISION_SOURCES = ("qa", "review")


class KeywordChange(StrEnum):
    """How the writer should change its use of the brief's primary keyword."""

    PLACE = "place"  # put it in the title or introduction, a heading and the conclusion, up to the planned density
    REDUCE = "reduce"  # place it as above, and cut sentences that carry it until the density is under the maximum


@dataclass(frozen=True, kw_only=True)
class Revision:
    """What a writer is asked to change, as data it can act on.

    Two producers fill it: the QA loop (`content.quality.revision_for`, source "qa") from the
    rubric's checks, and a reviewer's rejection (`content.revisions.review_revision`, source
    "review") from reason codes. Writers act on the structured fields only; `findings` and
    `feedback` are prose for people and for chat prompts, and no writer parses them.

    - `target_words`: bring the article to about this many words; None keeps the length (the
      writer still returns to the brief's range if its other changes pushed the article out).
    - `add_sections`: headings of sections to write before the conclusion (a conclusion heading
      adds the missing conclusion).
    - `remove_phrases`: exact text to cut out (placeholders, dangling `[n]` citations, repeats).
    - `keyword`: how to change the use of the brief's primary keyword; None leaves it as it is.
    - `mention_audience`: name the brief's target audience in the introduction if it is not named.
    - `cite_sources`: cite the research sources the article does not cite yet.
    - `stay_on_topic`: keep every section on the brief's topic and cut digressions.
    - `follow_tone`: write in the brief's tone throughout.
    - `findings`: the QA rubric's findings and the editor's critique, as sentences for display
      and for chat prompts.
    - `reasons`: the reviewer's reason codes, keys of `REVIEW_REASONS`, in the reviewer's order.
    - `feedback`: the reviewer's own words: an instruction, never text for the article.
    - `source`: who asked, "qa" or "review".
    """

    target_words: int | None = None
    add_sections: tuple[str, ...] = ()
    remove_phrases: tuple[str, ...] = ()
    keyword: KeywordChange | None = None
    mention_audience: bool = False
    cite_sources: bool = False
    stay_on_topic: bool = False
    follow_tone: bool = False
    findings: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    feedback: str = ""
    source: str = "qa"

    def __post_init__(self) -> None:
        unknown = [reason for reason in self.reasons if reason not in REVIEW_REASONS]
        if unknown:
            raise ValueError(f"Unknown review reasons: {', '.join(unknown)}; known: {', '.join(REVIEW_REASONS)}.")
        if self.source not in REVISION_SOURCES:
            raise ValueError(f"A revision comes from one of {', '.join(REVISION_SOURCES)}, not {self.source!r}.")
        if self.target_words is not None and self.target_words <= 0:
            raise ValueError(f"A revision's target length must be positive, not {self.target_words}.")


class TextModel(ABC):
    """A model that writes. One instance serves one task run; it is not shared across threads.

    `listener` hears about answers the model received and rejected (or kept only in part), so
    that the stage records them and their tokens; models that call no provider never use it.
    """

    key: str  # the catalog key, recorded on versions (`model_key`)
    listener: AnswerListener = staticmethod(no_listener)

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
    content_type: str  # image/png, image/jpeg, image/webp, image/gif
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


def redacted(error: StageError, secret: str | None) -> StageError:
    """`error` with `secret` blanked out of its message: some APIs echo the key they were sent
    (in a 401, or a 500's body), and a stage error is shown to editors, stored in events and
    versions, and logged. The same error when it does not hold the key."""
    message = str(error)
    if not secret or secret not in message:
        return error
    message = message.replace(secret, "***")
    if isinstance(error, TransientError):
        return TransientError(message, retry_after=error.retry_after)
    return type(error)(message)


def key_kept_out_of_errors(key_variable: str):
    """Decorate a provider call so the key in `key_variable` never leaves it inside an error."""
    def decorate(call):
        @functools.wraps(call)
        def guarded(*args, **kwargs):
            try:
                return call(*args, **kwargs)
            except StageError as error:
                blanked = redacted(error, os.environ.get(key_variable, "").strip())
                if blanked is error:
                    raise
            # Raised outside the handler so that the original, which holds the key, is not chained.
            raise blanked
        return guarded
    return decorate


def api_key_from_environment(variable: str) -> str:
    """The API key held by `variable`; a clear permanent error naming the variable if it is unset,
    or if it holds a character outside printable ASCII, which no HTTP header can carry (httpx
    would fail building the request with an error that names neither the provider nor the
    variable). The message never shows the key."""
    if not variable:
        return ""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise PermanentError(f"The API key variable {variable} is not set; set it in the environment of the workers.")
    unfit = next((character for character in value if not " " <= character <= "~"), None)
    if unfit is not None:
        raise PermanentError(
            f"The API key variable {variable} holds a character an HTTP header cannot carry (U+{ord(unfit):04X}), "
            "such as a dash or a non-breaking space pasted with it; set it again to the key alone."
        )
    return value
