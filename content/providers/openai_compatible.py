"""Chat models behind an OpenAI-compatible Chat Completions API (OpenAI, Ollama, vLLM, LM Studio...).

One streamed POST to `{base_url}/chat/completions` per request, read as server-sent events so a
cancellation takes effect between chunks. Servers that ignore `stream` and answer with one JSON
body are read too. Errors are classified by `http`; this module adds the stream's own failure
modes (a malformed chunk and a stream cut short: transient; an error object inside the stream:
by its type) and reads `finish_reason: "length"` as an answer cut off at its token limit and
`finish_reason: "content_filter"` as one stopped by the content filter.
"""

from __future__ import annotations

import httpx

from content.providers import http
from content.providers.base import FilteredAnswer, StopCheck, TextResult, TruncatedAnswer, Usage
from content.providers.chat import ChatTextModel
from tasks.control_characters import as_one_line
from tasks.exceptions import PermanentError, TransientError
from tasks.validators import storable_text

TEMPERATURE = 0.7
# Error types that OpenAI-compatible servers put inside a stream and that a retry can cure.
TRANSIENT_STREAM_ERRORS = {"server_error", "rate_limit_exceeded", "rate_limit_error", "overloaded_error", "timeout"}


class OpenAICompatibleModel(ChatTextModel):
    provider_name = "OpenAI-compatible API"

    @property
    def endpoint(self) -> str:
        if not self.entry.base_url.strip():
            raise PermanentError(f"{self.label} has no base URL: an OpenAI-compatible model needs the API root of "
                                 "its server; set it in admin → Tasks → Model catalog entries.")
        return self.entry.base_url.rstrip("/") + "/chat/completions"

    def chat(self, messages: list[dict], *, max_tokens: int, stop: StopCheck) -> TextResult:
        key = self.api_key  # before any network access: a missing key fails here, permanently
        headers = {"Accept": "text/event-stream"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {
            "model": self.entry.provider_model_id or self.entry.key,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": TEMPERATURE,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        return self._post_streaming(
            body, headers,
            read_body=lambda text: self._read_body(text, messages),
            read_stream=lambda response: self._read_stream(response, messages, stop),
        )

    def _read_stream(self, response: httpx.Response, messages: list[dict], stop: StopCheck) -> TextResult:
        parts: list[str] = []
        usage = None
        finish_reason = ""
        done = False
        for _event, data in http.iter_sse(response, provider=self.label):
            stop()
            if data.strip() == "[DONE]":
                done = True
                break
            chunk = http.stream_chunk(data, provider=self.label)
            if chunk.get("error"):
                raise self._stream_error(chunk["error"])
            choices = chunk.get("choices") or []
            if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
                raise http.malformed_chunk(self.label, "its choices are not a list of objects", data)
            for choice in choices:
                if choice.get("index", 0) != 0:
                    # Another of several answers (n > 1): the first alone is read, as in one body
                    # (`_read_body`); joined, two answers came interleaved word by word.
                    continue
                delta = choice.get("delta") or {}
                if not isinstance(delta, dict):
                    raise http.malformed_chunk(self.label, "its delta is not an object", data)
                content = delta.get("content")
                if content is not None and not isinstance(content, str):
                    raise http.malformed_chunk(self.label, "its delta content is not text", data)
                parts.append(content or "")
                finish_reason = finish_reason or str(choice.get("finish_reason") or "")
            if chunk.get("usage"):
                usage = chunk["usage"]
        text = "".join(parts)
        if not done and not finish_reason:
            # The connection closed cleanly but early: the answer is incomplete, whatever we have.
            what = "before any text" if not text else "before the answer was complete"
            raise TransientError(f"{self.label} ended its stream {what}.")
        return self._result(text, self._reported_usage(usage, messages, text), finish_reason)

    def _read_body(self, raw: str, messages: list[dict]) -> TextResult:
        body = http.parse_json(raw, provider=self.label)
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise PermanentError(f"{self.label} answered without a message: {raw[:160]!r}") from None
        text = http.text_field(content, provider=self.label, what="its message content")
        usage = self._reported_usage(body.get("usage"), messages, text)
        return self._result(text, usage, str(choice.get("finish_reason") or ""))

    def _result(self, text: str, usage: Usage, finish_reason: str) -> TextResult:
        text = storable_text(text)
        if finish_reason == "length":
            raise TruncatedAnswer(f"{self.label} stopped at its token limit (finish_reason \"length\").",
                                  text=text, usage=usage)
        if finish_reason == "content_filter":
            raise FilteredAnswer(f"{self.label} stopped its answer at its content filter (finish_reason "
                                 "\"content_filter\"); the partial answer is not used. Rephrase the brief.",
                                 usage=usage)
        return TextResult(text=text, usage=usage)

    def _reported_usage(self, usage, messages: list[dict], text: str) -> Usage:
        usage = usage if isinstance(usage, dict) else {}
        return self._usage(usage.get("prompt_tokens"), usage.get("completion_tokens"), messages=messages, text=text)

    def _stream_error(self, error) -> TransientError | PermanentError:
        """The error a chunk's `error` reports. Its text is the provider's, shown as one line
        (`as_one_line`) and cut short, as Anthropic's error events are."""
        if isinstance(error, dict):
            kind = str(error.get("type") or error.get("code") or "")
            text = str(error.get("message") or kind)
        else:
            kind, text = "", str(error)
        message = f"{self.label} reported an error mid-stream: {as_one_line(text)[:200]}"
        if kind in TRANSIENT_STREAM_ERRORS:
            return TransientError(message)
        return PermanentError(message)
