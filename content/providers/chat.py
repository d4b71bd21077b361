"""Text models that answer through a chat API: the token budgets, the call, reading the answers.

`ChatTextModel` turns each `TextModel` request (outline, write, revise, critique) into chat
messages (`prompts`) and leaves one method to the provider modules: `chat()`, which sends the
messages over the provider's wire protocol (`openai_compatible`, `anthropic`). Everything a
provider answers is checked and cleaned up here the same way (an answer cut off at its token
limit, an empty one, an outline that cannot be read), so the pipeline sees one behaviour whatever
the model. It imports `base`, `http`, `prompts`, `content.textstats` and, for a generated title's
one rule, `content.formatting`; the catalog entry is only read (key, URL, model, window).
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from typing import TYPE_CHECKING

import httpx

from content.formatting import shown_title
from content.providers import http
from content.providers.base import (
    TOKENS_PER_WORD,
    AnswerListener,
    AnswerNotice,
    Brief,
    FilteredAnswer,
    Outline,
    OutlineResult,
    Research,
    Revision,
    StopCheck,
    TextModel,
    TextResult,
    TruncatedAnswer,
    Usage,
    api_key_from_environment,
    estimate_tokens,
    no_listener,
    no_stop_check,
    redacted,
    token_count,
)
from content.providers.prompts import critique_prompt, outline_prompt, revise_prompt, system_prompt, write_prompt
from content.textstats import article_word_count
from tasks.exceptions import PermanentError, StageError, TransientError
from tasks.metrics import observe_provider_call
from tasks.validators import storable_text

if TYPE_CHECKING:
    from tasks.models import ModelCatalogEntry

# An article's words in tokens (`base.TOKENS_PER_WORD`) with headroom for Markdown, citations and
# a model that runs long (1.4); the allowance leaves room for the title and headings of a short piece.
LENGTH_HEADROOM = 1.4
TOKEN_ALLOWANCE = 300
MIN_MAX_TOKENS = 256
OUTLINE_MAX_TOKENS = 800
CRITIQUE_MAX_TOKENS = 700
# An answer cut off at its token limit is asked for once more with this many times the limit.
TRUNCATION_RETRY_FACTOR = 2
# More characters than any tokenizer puts into one token on average (English runs at about 4, a
# run of spaces or of one repeated character at up to 16 or so): an answer longer than its token
# limit times this came from a provider that ignored the limit.
MAX_CHARACTERS_PER_TOKEN = 16

# These patterns read a model's answer, up to hundreds of kilobytes, and a line of it may be one
# run of spaces: none may be able to try a run in more than one way, or one answer costs minutes of
# CPU (a heading line of 100,000 characters took 120 s; a fence opened before 40,000 characters of
# blank lines, 14 s). So a heading's or list item's trailing spaces and closing hashes are cut off
# in Python (`_heading_text`), and the fenced article is found as its opening and its last closing
# line. A heading of nothing but spaces is no heading.
_FENCE = re.compile(r"^```[\w-]*[^\S\n]*\n(.*?)\n?```\s*$", re.DOTALL)
# An article inside a fence after a preamble: from the first fence that opens on a `# Title` line
# to the last closing fence, so a code block inside it stays whole.
_FENCE_OPENING_ARTICLE = re.compile(r"^```[\w-]*[ \t]*\n(?=#[ \t])", re.MULTILINE)
_FENCE_CLOSING = re.compile(r"\n```[ \t]*$", re.MULTILINE)
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(\S.*)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(\S.*)")
_FRAME_HEADINGS = re.compile(r"(?:introduction|intro|conclusions?|in conclusion|summary|final thoughts)", re.IGNORECASE)


class ChatTextModel(TextModel):
    """A `TextModel` on top of one chat call; subclasses implement `chat()` for their protocol."""

    provider_name = "Chat model"

    def __init__(
        self, entry: ModelCatalogEntry, *, timeout: httpx.Timeout | float | None = None,
        listener: AnswerListener = no_listener,
    ):
        self.entry = entry
        self.key = entry.key
        self.timeout = timeout if timeout is not None else http.DEFAULT_TIMEOUT
        self.listener = listener
        self._api_key: str | None = None

    @property
    def label(self) -> str:
        """How messages name the model: its kind and its catalog name."""
        return f"{self.provider_name} ({self.entry.display_name or self.entry.key})"

    @property
    def api_key(self) -> str:
        """The key, read at first use so that building a model never fails; "" when none is needed."""
        if self._api_key is None:
            self._api_key = api_key_from_environment(self.entry.api_key_env)
        return self._api_key

    @property
    def endpoint(self) -> str:
        raise NotImplementedError

    def _post_streaming(self, body: dict, headers: dict, *, read_body, read_stream) -> TextResult:
        """POST `body` to the endpoint and read the answer: an SSE stream (`read_stream(response)`),
        or one JSON body from a server that ignores `stream` (`read_body(text)`). HTTP statuses and
        transport failures are classified here, the same for every chat provider."""
        endpoint = http.checked_url(self.endpoint, what=f"The base URL of {self.label}",
                                    fix="fix it in admin → Tasks → Model catalog entries")
        try:
            with observe_provider_call(self.entry.provider), http.client(timeout=self.timeout) as client:
                with client.stream("POST", endpoint, json=body, headers=headers) as response:
                    http.raise_for_status(response, provider=self.label, key_variable=self.entry.api_key_env)
                    if "text/event-stream" not in response.headers.get("content-type", ""):
                        return read_body(http.read_answer(response, provider=self.label))
                    return read_stream(response)
        except httpx.HTTPError as error:
            raise http.transport_error(error, provider=self.label) from error

    @abstractmethod
    def chat(self, messages: list[dict], *, max_tokens: int, stop: StopCheck) -> TextResult:
        """Send `messages` ({"role": "system"|"user"|"assistant", "content": str}) and return the
        whole answer with its token usage. Must read the key through `self.api_key` before any
        network access, call `stop()` for every received chunk, and raise only `TransientError`,
        `PermanentError` or whatever `stop()` raises."""

    # --- The TextModel requests ------------------------------------------------------------

    def outline(self, brief: Brief, research: Research, *, stop: StopCheck = no_stop_check) -> OutlineResult:
        messages = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": outline_prompt(brief, research)},
        ]
        result = self._complete(messages, max_tokens=self._budget(OUTLINE_MAX_TOKENS, messages), stop=stop)
        try:
            outline = parse_outline(result.text, fallback_title=brief.title or brief.topic, provider=self.label)
        except PermanentError as error:
            self._reject("unreadable", str(error), result.usage)
            raise
        if brief.title:
            outline = Outline(title=brief.title, sections=outline.sections)
        return OutlineResult(outline=outline, usage=result.usage)

    def write(
        self, brief: Brief, research: Research, outline: Outline, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        messages = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": write_prompt(brief, research, outline)},
        ]
        result = self._complete(messages, max_tokens=self._article_budget(brief.word_count, messages), stop=stop)
        return TextResult(text=clean_article(result.text, title=outline.title), usage=result.usage)

    def revise(
        self, brief: Brief, research: Research, article: str, revision: Revision, *, stop: StopCheck = no_stop_check
    ) -> TextResult:
        messages = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": revise_prompt(brief, research, article, revision)},
        ]
        words = max(revision.target_words or 0, brief.word_count, article_word_count(article))
        result = self._complete(messages, max_tokens=self._article_budget(words, messages), stop=stop)
        return TextResult(text=clean_article(result.text, title=_title_of(article)), usage=result.usage)

    def critique(self, brief: Brief, article: str, *, stop: StopCheck = no_stop_check) -> TextResult | None:
        messages = [
            {"role": "system", "content": system_prompt(brief)},
            {"role": "user", "content": critique_prompt(brief, article)},
        ]
        result = self._complete(messages, max_tokens=self._budget(CRITIQUE_MAX_TOKENS, messages), stop=stop,
                                keep_partial=True)
        return TextResult(text=result.text.strip(), usage=result.usage)

    # --- Budgets and the call --------------------------------------------------------------

    def _article_budget(self, words: int, messages: list[dict]) -> int:
        return self._budget(int(words * LENGTH_HEADROOM * TOKENS_PER_WORD + TOKEN_ALLOWANCE), messages)

    def _budget(self, wanted: int, messages: list[dict]) -> int:
        """`wanted` output tokens, capped by what the context window leaves after the prompt."""
        prompt_tokens = sum(estimate_tokens(message["content"]) for message in messages)
        room = (self.entry.context_window or 0) - prompt_tokens
        return max(MIN_MAX_TOKENS, min(wanted, room))

    def _complete(
        self, messages: list[dict], *, max_tokens: int, stop: StopCheck, keep_partial: bool = False
    ) -> TextResult:
        """The whole answer to `messages`. An answer cut off at its token limit is never passed
        on as if whole: it is reported with its tokens and asked for once more with a larger
        limit (twice the first, bounded by the catalog's context window); cut off again, it fails
        the stage permanently. With `keep_partial` (the critique: advice, usable in part) a cut
        answer is kept up to its last whole sentence instead, with a notice. An empty answer is
        reported and retried (transient)."""
        limit = max_tokens
        try:
            result = self._chat(messages, max_tokens=max_tokens, stop=stop)
        except TruncatedAnswer as cut:
            kept = _whole_sentences(cut.text) if keep_partial else ""
            if kept:
                self._check_length(kept, cut.usage, max_tokens)
                self.listener(AnswerNotice("truncated", f"{self.label}'s critique was cut off at its token limit "
                                           f"({max_tokens:,} tokens); kept up to its last whole sentence."))
                return TextResult(text=kept, usage=cut.usage)
            larger = self._budget(max_tokens * TRUNCATION_RETRY_FACTOR, messages)
            if larger <= max_tokens:
                raise self._cut_off(cut, max_tokens) from None
            self._reject("truncated", f"{self.label}'s answer was cut off at its token limit ({max_tokens:,} tokens); "
                         f"asking again with a limit of {larger:,}.", cut.usage)
            limit = larger
            try:
                result = self._chat(messages, max_tokens=larger, stop=stop)
            except TruncatedAnswer as again:
                raise self._cut_off(again, larger) from None
        self._check_length(result.text, result.usage, limit)
        if not result.text.strip():
            # Usually a refusal or a filtered answer; another try often succeeds, and retries are bounded.
            message = f"{self.label} returned no text."
            self._reject("empty", message, result.usage)
            raise TransientError(message)
        return result

    def _chat(self, messages: list[dict], *, max_tokens: int, stop: StopCheck) -> TextResult:
        """`chat()`, with the key blanked out of any error it raises. An answer stopped by the
        content filter is reported with its tokens and fails the stage."""
        stop()
        try:
            return self.chat(messages, max_tokens=max_tokens, stop=stop)
        except FilteredAnswer as filtered:
            self._reject("filtered", str(filtered), filtered.usage)
            raise
        except StageError as error:
            blanked = redacted(error, self._api_key)
            if blanked is error:
                raise
        # Raised outside the handler so that the original, which holds the key, is not chained.
        raise blanked

    def _cut_off(self, cut: TruncatedAnswer, max_tokens: int) -> TruncatedAnswer:
        """The permanent failure of an answer cut off even at the largest limit tried."""
        message = (f"{self.label}'s answer was cut off at its token limit ({max_tokens:,} tokens); raise the limit "
                   "(the model's context window in the catalog) or shorten the target length.")
        self._reject("truncated", message, cut.usage)
        return TruncatedAnswer(message, text=cut.text, usage=cut.usage, max_tokens=max_tokens)

    def _check_length(self, text: str, usage: Usage, max_tokens: int) -> None:
        """Refuse an answer longer than `max_tokens` tokens can be: a provider that ignores the
        limit could otherwise hand the pipeline an article of up to the 16 MB an answer may have,
        which would be stored, versioned and published."""
        if len(text) > max_tokens * MAX_CHARACTERS_PER_TOKEN:
            message = (f"{self.label} returned {len(text):,} characters for a limit of {max_tokens:,} tokens: it "
                       "ignored the limit, so the answer is not used.")
            self._reject("oversized", message, usage)
            raise PermanentError(message)

    def _usage(self, input_tokens, output_tokens, *, messages: list[dict], text: str) -> Usage:
        """The usage the provider reported (`token_count`), with each side it left out (None)
        estimated at about four characters a token: some servers (older Ollama, proxies, gateways)
        send none, or only half, and the stage must still record a plausible cost, never zero."""
        if input_tokens is None:
            prompt = sum(estimate_tokens(message["content"]) for message in messages)
        else:
            prompt = token_count(input_tokens, provider=self.label)
        if output_tokens is None:
            completion = estimate_tokens(text)
        else:
            completion = token_count(output_tokens, provider=self.label)
        return Usage(prompt, completion)

    def _reject(self, reason: str, message: str, usage: Usage) -> None:
        """Tell the stage about an answer received and thrown away: the provider charged for it."""
        self.listener(AnswerNotice(reason, message, usage))


def _whole_sentences(text: str) -> str:
    """`text` up to its last sentence end (".", "!" or "?"), or "" when it has none."""
    text = text.strip()
    ends = [match.end() for match in re.finditer(r"[.!?][\"'”’)\]]*(?=\s|$)", text)]
    return text[: ends[-1]].strip() if ends else ""


# --- Reading answers ---------------------------------------------------------------------------


def _strip_fence(text: str) -> str:
    text = text.strip()
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def _clean_heading(text: str) -> str:
    text = re.sub(r"^(?:section\s+\d+\s*[:.\-–—]\s*|\d+[.)]\s+)", "", text.strip(), flags=re.IGNORECASE)
    return text.strip().strip("*_`\"'“”").strip().rstrip(":").strip()


def _body_sections(headings: list[str]) -> tuple[str, ...]:
    """The outline's sections, each one line without control and layout-changing characters as a
    title is (`shown_title`): they head the draft's sections in the prompt and are listed in the
    task's "Outline ready" progress line."""
    seen, sections = set(), []
    for heading in (_clean_heading(shown_title(heading)) for heading in headings):
        if heading and not _FRAME_HEADINGS.fullmatch(heading) and heading.lower() not in seen:
            seen.add(heading.lower())
            sections.append(heading)
    return tuple(sections)


def _outline_from_json(text: str) -> tuple[str, list[str]] | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    raw = data.get("sections") or data.get("headings") or data.get("outline") or []
    if not isinstance(raw, list):
        return None
    headings = []
    for item in raw:
        if isinstance(item, dict):
            item = item.get("heading") or item.get("title") or item.get("name") or ""
        if isinstance(item, str):
            headings.append(item)
    title = data.get("title")
    return (title.strip() if isinstance(title, str) else ""), headings


def _outline_from_markdown(text: str) -> tuple[str, list[str]]:
    """A `# Title` (or `Title: ...`) line, then `## ` headings or, failing those, the outermost list."""
    title, headings, items = "", [], []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if len(heading.group(1)) == 1 and not title:
                title = _heading_text(heading.group(2))
            elif len(heading.group(1)) > 1:
                headings.append(_heading_text(heading.group(2)))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            items.append((len(item.group(1).expandtabs(4)), item.group(2).rstrip()))
            continue
        if not title and line.lower().startswith("title:"):
            title = line.split(":", 1)[1]
    if not headings and items:
        outermost = min(indent for indent, _ in items)
        headings = [text for indent, text in items if indent == outermost]
    return _clean_heading(title), headings


def parse_outline(text: str, *, fallback_title: str, provider: str) -> Outline:
    """The outline in a model's answer: the JSON asked for, else a Markdown list or headings."""
    cleaned = _strip_fence(text)
    title, headings = _outline_from_json(cleaned) or _outline_from_markdown(cleaned)
    # The answer's text is storable already; JSON escapes (\u0000) in it are not, once read.
    title, headings = storable_text(title), [storable_text(heading) for heading in headings]
    sections = _body_sections(headings)
    if not sections:
        raise PermanentError(f"{provider} returned an outline that could not be read: {text.strip()[:160]!r}")
    # The draft's title, and its QA rounds' and image's, until the format stage reads the
    # article's own: the admin's version list shows it, so it is held to that stage's rule.
    return Outline(title=_clean_heading(shown_title(title)) or fallback_title, sections=sections)


def _heading_text(text: str) -> str:
    """The text of a heading line after its `#`s, without the spaces and closing `#`s that may end
    it (`## Title ##`); a `#` ending a word stays (`## C#`)."""
    text = text.rstrip()
    unclosed = text.rstrip("#")
    return unclosed.rstrip() if unclosed[-1:].isspace() else text


def _title_of(article: str) -> str:
    for line in article.splitlines():
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return _heading_text(heading.group(2))
    return ""


def _fenced_article(text: str) -> str | None:
    """The article in a fence after a preamble (`_FENCE_OPENING_ARTICLE`), or None."""
    opening = _FENCE_OPENING_ARTICLE.search(text)
    if opening is None:
        return None
    # After the opening's `# ` at least; the last one, so that a code block inside stays whole.
    closings = list(_FENCE_CLOSING.finditer(text, opening.end() + 2))
    return text[opening.end():closings[-1].start()] if closings else None


def clean_article(text: str, *, title: str) -> str:
    """The article without a wrapping code fence or a preamble ("Here is the article:"), and with
    a `# Title` line even when the model left it out."""
    text = _strip_fence(text)
    if not text.startswith("# "):
        fenced = _fenced_article(text)
        if fenced is not None:
            text = fenced
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("## "):
            break
        if line.startswith("# "):
            lines = lines[index:]
            break
    text = "\n".join(lines).strip()
    if not text.startswith("# ") and title:
        text = f"# {title}\n\n{text}"
    return text + "\n"

