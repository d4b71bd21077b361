"""Chat models behind an OpenAI-compatible Chat Completions API (OpenAI, Ollama, vLLM, LM Studio...).

One streamed POST to `{base_url}/chat/completions` per request, read as server-sent events so a
cancellation takes effect between chunks. Servers that ignore `stream` and answer with one JSON
body are read too. Errors are classified by `http`; this module adds the stream's own failure
modes (a malformed chunk, an error object inside the stream, a stream cut short).
"""

from __future__ import annotations

import httpx

from content.providers import http
from content.providers.base import StopCheck, TextResult, Usage, estimate_tokens
from content.providers.chat import ChatTextModel
from tasks.exceptions import PermanentError, TransientError

TEMPERATURE = 0.7
# Error types that OpenAI-compatible servers put inside a stream and that a retry can cure.
TRANSIENT_STREAM_ERRORS = {"server_error", "rate_limit_exceeded", "rate_limit_error", "overloaded_error", "timeout"}


class OpenAICompatibleModel(ChatTextModel):
    provider_name = "OpenAI-compatible API"

    @property
    def endpoint(self) -> str:
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
        finished = done = False
        for _event, data in http.iter_sse(response):
            stop()
            if data.strip() == "[DONE]":
                done = True
                break
            chunk = http.parse_json(data, provider=self.label)
            if not isinstance(chunk, dict):
                raise PermanentError(f"{self.label} sent a stream chunk that is not an object: {data[:120]!r}")
            if chunk.get("error"):
                raise self._stream_error(chunk["error"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
                finished = finished or bool(choice.get("finish_reason"))
            if chunk.get("usage"):
                usage = chunk["usage"]
        text = "".join(parts)
        if not done and not finished:
            # The connection closed cleanly but early: the answer is incomplete, whatever we have.
            what = "before any text" if not text else "before the answer was complete"
            raise TransientError(f"{self.label} ended its stream {what}.")
        return TextResult(text=text, usage=self._usage(usage, messages, text))

    def _read_body(self, raw: str, messages: list[dict]) -> TextResult:
        body = http.parse_json(raw, provider=self.label)
        try:
            text = body["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise PermanentError(f"{self.label} answered without a message: {raw[:160]!r}") from None
        return TextResult(text=text, usage=self._usage(body.get("usage"), messages, text))

    def _usage(self, usage: dict | None, messages: list[dict], text: str) -> Usage:
        if isinstance(usage, dict) and "completion_tokens" in usage:
            return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        # Some servers (older Ollama, proxies) send no usage: estimate it (about four characters a
        # token) so that the stage still records a plausible cost instead of zero.
        prompt = sum(estimate_tokens(message["content"]) for message in messages)
        return Usage(prompt, estimate_tokens(text))

    def _stream_error(self, error) -> TransientError | PermanentError:
        if isinstance(error, dict):
            kind = str(error.get("type") or error.get("code") or "")
            message = f"{self.label} reported an error mid-stream: {str(error.get('message') or kind)[:200]}"
        else:
            kind, message = "", f"{self.label} reported an error mid-stream: {str(error)[:200]}"
        if kind in TRANSIENT_STREAM_ERRORS:
            return TransientError(message)
        return PermanentError(message)
