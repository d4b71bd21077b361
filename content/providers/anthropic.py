"""Chat models behind Anthropic's Messages API, streamed.

One POST to `{base_url}/v1/messages` per request with `stream: true`, read as server-sent events
(message_start, content_block_delta, message_delta, message_stop, ping, error) so a cancellation
takes effect between events. A malformed event is transient, like a dropped stream; `stop_reason:
"max_tokens"` is an answer cut off at its token limit, `stop_reason: "refusal"` one the model
stopped as a refusal. System messages go in the top-level `system` field, as the API wants.
"""

from __future__ import annotations

import httpx

from content.providers import http
from content.providers.base import FilteredAnswer, StopCheck, TextResult, TruncatedAnswer, Usage
from content.providers.chat import ChatTextModel
from tasks.control_characters import as_one_line
from tasks.exceptions import PermanentError, TransientError
from tasks.validators import storable_text

ANTHROPIC_VERSION = "2023-06-01"
# Error event types that mean "busy, try later" — the in-stream forms of HTTP 529, 429, 500 and
# 504, which `http` classifies as transient too. Everything else (invalid_request_error,
# authentication_error, permission_error, not_found_error...) is permanent.
TRANSIENT_ERROR_TYPES = {"overloaded_error", "rate_limit_error", "api_error", "timeout_error"}


class AnthropicModel(ChatTextModel):
    provider_name = "Anthropic"

    @property
    def endpoint(self) -> str:
        base = self.entry.base_url.rstrip("/") or "https://api.anthropic.com"
        # The catalog may hold the API root with or without the version segment.
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def chat(self, messages: list[dict], *, max_tokens: int, stop: StopCheck) -> TextResult:
        key = self.api_key  # before any network access: a missing key fails here, permanently
        headers = {"anthropic-version": ANTHROPIC_VERSION, "Accept": "text/event-stream"}
        if key:
            headers["x-api-key"] = key
        system = "\n\n".join(message["content"] for message in messages if message["role"] == "system")
        body = {
            "model": self.entry.provider_model_id or self.entry.key,
            "max_tokens": max_tokens,
            "messages": [
                {"role": message["role"], "content": message["content"]}
                for message in messages
                if message["role"] in ("user", "assistant")
            ],
            "stream": True,
        }
        if system:
            body["system"] = system
        return self._post_streaming(
            body, headers,
            read_body=lambda text: self._read_body(text, messages),
            read_stream=lambda response: self._read_stream(response, messages, stop),
        )

    def _read_stream(self, response: httpx.Response, messages: list[dict], stop: StopCheck) -> TextResult:
        parts: list[str] = []
        # The counts as reported; None (not reported) is estimated by `_usage`.
        input_tokens = output_tokens = None
        stopped = False
        stop_reason = ""
        for event, data in http.iter_sse(response, provider=self.label):
            stop()
            payload = http.stream_chunk(data, provider=self.label)
            kind = payload.get("type") or event
            if kind == "message_start":
                message_usage = _object(_object(payload, "message", self.label, data), "usage", self.label, data)
                # Its output_tokens is the count before any text (1 or so): the answer's own count
                # comes with message_delta, and is estimated when it does not.
                input_tokens = message_usage.get("input_tokens")
            elif kind == "content_block_start":
                block = _object(payload, "content_block", self.label, data)
                if block.get("type") == "text":
                    parts.append(_text(block, self.label, data))
            elif kind == "content_block_delta":
                delta = _object(payload, "delta", self.label, data)
                if delta.get("type") == "text_delta":
                    parts.append(_text(delta, self.label, data))
            elif kind == "message_delta":
                stop_reason = str(_object(payload, "delta", self.label, data).get("stop_reason") or stop_reason)
                # output_tokens here is the running total for the message, not an increment.
                output = _object(payload, "usage", self.label, data).get("output_tokens")
                if output is not None:
                    output_tokens = output
            elif kind == "message_stop":
                stopped = True
                break
            elif kind == "error":
                raise self._stream_error(payload)
            # ping, content_block_stop and event types added later need nothing from us.
        text = "".join(parts)
        if not stopped:
            what = "before any text" if not text else "before the answer was complete"
            raise TransientError(f"{self.label} ended its stream {what}.")
        return self._result(text, self._usage(input_tokens, output_tokens, messages=messages, text=text), stop_reason)

    def _read_body(self, raw: str, messages: list[dict]) -> TextResult:
        body = http.parse_json(raw, provider=self.label)
        if not isinstance(body, dict) or not isinstance(body.get("content"), list):
            raise PermanentError(f"{self.label} answered without content: {raw[:160]!r}")
        blocks = [block for block in body["content"] if isinstance(block, dict) and block.get("type") == "text"]
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        text = "".join(http.text_field(block.get("text"), provider=self.label, what="a text block's text")
                       for block in blocks)
        return self._result(
            text,
            self._usage(usage.get("input_tokens"), usage.get("output_tokens"), messages=messages, text=text),
            str(body.get("stop_reason") or ""),
        )

    def _result(self, text: str, usage: Usage, stop_reason: str) -> TextResult:
        text = storable_text(text)
        if stop_reason == "max_tokens":
            raise TruncatedAnswer(f"{self.label} stopped at its token limit (stop_reason \"max_tokens\").",
                                  text=text, usage=usage)
        if stop_reason == "refusal":
            raise FilteredAnswer(f"{self.label} refused to go on with its answer (stop_reason \"refusal\"); the "
                                 "partial answer is not used. Rephrase the brief.", usage=usage)
        return TextResult(text=text, usage=usage)

    def _stream_error(self, payload: dict) -> TransientError | PermanentError:
        """The error an `error` event reports, from its `error` object's type and message. An event
        without that object (a message beside `"type": "error"`, an error that is text alone, or
        nothing) is still the provider's error, not a malformed chunk: whatever text it sent is
        kept. An error without a type is not known to be transient, so, like every type outside
        TRANSIENT_ERROR_TYPES, it fails the task at once. The text is the provider's, shown as one
        line (`as_one_line`) and cut short, like the other quotes of a provider's error."""
        error = payload.get("error")
        kind, text = (error.get("type"), error.get("message")) if isinstance(error, dict) else ("", error)
        kind, text = str(kind or ""), str(text or payload.get("message") or "")
        shown_kind = as_one_line(kind)[:80] or "an error without a type"
        detail = as_one_line(text)[:200]
        message = f"{self.label} reported {shown_kind} mid-stream" + (f": {detail}" if detail else "")
        if kind in TRANSIENT_ERROR_TYPES:
            return TransientError(message)
        return PermanentError(message)


def _text(payload: dict, provider: str, data: str) -> str:
    """`payload["text"]` when it is text (or absent: ""); a malformed chunk otherwise, never the
    str() of an object stored as the article."""
    text = payload.get("text")
    if text is not None and not isinstance(text, str):
        raise http.malformed_chunk(provider, "its text is not text", data)
    return text or ""


def _object(payload: dict, name: str, provider: str, data: str) -> dict:
    """`payload[name]` when it is an object (or absent: {}); a malformed chunk otherwise."""
    value = payload.get(name) or {}
    if not isinstance(value, dict):
        raise http.malformed_chunk(provider, f"its {name} is not an object", data)
    return value
