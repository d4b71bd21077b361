"""Chat APIs (OpenAI, Anthropic) answering from a script: one behaviour (`Reply`, `Fail`, `Hang`,
`Malformed`, `StreamError`, `Raw`) per request."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field

from tests.content.fake_servers.base import Exchange, FakeServer

@dataclass
class Reply:
    """Answer with `text`, streamed in `chunks` (default: word by word) `delay` seconds apart.

    `complete=False` ends the stream early (no finish, no [DONE] / message_stop); `usage=False`
    leaves the usage out (all of it, streamed or not); a token count of None is sent as null;
    `streamed=False` answers one JSON body as if `stream` were ignored;
    `truncated=True` ends it as a model that hit its token limit does (`finish_reason: "length"`,
    `stop_reason: "max_tokens"`), usage included; `filtered=True` as one stopped by the content
    filter (`finish_reason: "content_filter"`, `stop_reason: "refusal"`)."""

    text: str
    chunks: list[str] | None = None
    delay: float = 0.0
    input_tokens: int = 42
    output_tokens: int = 17
    usage: bool = True
    complete: bool = True
    streamed: bool = True
    truncated: bool = False
    filtered: bool = False

    @property
    def openai_finish(self) -> str:
        return "length" if self.truncated else "content_filter" if self.filtered else "stop"

    @property
    def anthropic_stop(self) -> str:
        return "max_tokens" if self.truncated else "refusal" if self.filtered else "end_turn"

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        words = self.text.split(" ")
        return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)]


@dataclass
class Fail:
    """Answer HTTP `status` with the provider's JSON error body; `{key}` in `message` is replaced by
    the key the request carried (as APIs that echo a rejected key do)."""

    status: int
    message: str = "Something went wrong"
    error_type: str = "server_error"
    headers: dict = field(default_factory=dict)


@dataclass
class Hang:
    """Wait `seconds` before answering at all, then behave as `then`."""

    seconds: float
    then: Reply | None = None


def _total(reply: Reply):
    """`total_tokens` as OpenAI sends it; a test's deliberately wrong count is sent as it is."""
    counts = (reply.input_tokens, reply.output_tokens)
    return sum(counts) if all(isinstance(count, int) for count in counts) else reply.input_tokens


@dataclass
class Malformed:
    """Start a stream, then send a chunk that is not JSON (`shape=False`) or JSON of the wrong
    shape (`shape=True`: a list of choices that is a string, a delta that is a string)."""

    shape: bool = False


@dataclass
class StreamError:
    """Start a stream, then report an error inside it."""

    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass
class Raw:
    """Answer HTTP `status` with `body` exactly as given, whatever the protocol says (a hostile
    server): `content_type` "text/event-stream" makes it a stream."""

    status: int
    body: str | bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)  # e.g. a Content-Encoding the body really has


class _ScriptedChatServer(FakeServer):
    endpoint = ""

    def __init__(self, *behaviours):
        super().__init__()
        self.behaviours = deque(behaviours)

    def script(self, *behaviours) -> _ScriptedChatServer:
        self.behaviours.extend(behaviours)
        return self

    def handle(self, exchange: Exchange) -> None:
        if exchange.request.method != "POST" or exchange.request.path != self.endpoint:
            exchange.respond_json(404, {"error": {"message": f"No route {exchange.request.path}", "type": "not_found"}})
            return
        behaviour = self.behaviours.popleft() if self.behaviours else Fail(500, "The fake server has no answer left")
        if isinstance(behaviour, Hang):
            if not exchange.wait(behaviour.seconds):
                return
            behaviour = behaviour.then or Reply("Sorry for the wait.")
        if isinstance(behaviour, Raw):
            exchange.respond(behaviour.status, behaviour.body, content_type=behaviour.content_type,
                             headers=behaviour.headers)
        elif isinstance(behaviour, Fail):
            self.fail(exchange, behaviour)
        elif isinstance(behaviour, Reply) and not behaviour.streamed:
            self.answer_json(exchange, behaviour)
        else:
            exchange.start(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            self.stream(exchange, behaviour)

    def key_of(self, exchange: Exchange) -> str:
        raise NotImplementedError

    def model_of(self, exchange: Exchange) -> str:
        return (exchange.request.json or {}).get("model", "")

    def fail(self, exchange: Exchange, failure: Fail) -> None:
        raise NotImplementedError

    def answer_json(self, exchange: Exchange, reply: Reply) -> None:
        raise NotImplementedError

    def stream(self, exchange: Exchange, behaviour) -> None:
        raise NotImplementedError


class OpenAIChatServer(_ScriptedChatServer):
    """`POST /v1/chat/completions` as OpenAI serves it: SSE chunks, a usage chunk, `data: [DONE]`."""

    endpoint = "/v1/chat/completions"

    def key_of(self, exchange):
        return exchange.request.headers.get("authorization", "").removeprefix("Bearer ")

    def fail(self, exchange, failure):
        message = failure.message.replace("{key}", self.key_of(exchange))
        body = {"error": {"message": message, "type": failure.error_type, "param": None, "code": None}}
        exchange.respond_json(failure.status, body, headers=failure.headers)

    def _chunk(self, exchange, *, delta=None, finish_reason=None, usage=None) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model_of(exchange),
            "choices": choices,
        }
        if usage is not None:
            payload["usage"] = usage
        return f"data: {json.dumps(payload)}\n\n"

    def answer_json(self, exchange, reply):
        body = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model_of(exchange),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                         "finish_reason": reply.openai_finish}],
        }
        if reply.usage:
            body["usage"] = {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                             "total_tokens": _total(reply)}
        exchange.respond_json(200, body)

    def stream(self, exchange, behaviour):
        write = exchange.write
        if not write(": keep-alive\n\n" + self._chunk(exchange, delta={"role": "assistant", "content": ""})):
            return
        if isinstance(behaviour, Malformed):
            broken = 'data: {"choices": [{"delta": {"content": "wor\n\n'  # cut off mid-JSON
            if behaviour.shape:
                broken = 'data: {"choices": "wor"}\n\n'  # valid JSON, not the chunk's shape
            write(self._chunk(exchange, delta={"content": "Hello"}) + broken)
            return
        if isinstance(behaviour, StreamError):
            write(f"data: {json.dumps({'error': {'message': behaviour.message, 'type': behaviour.error_type}})}\n\n")
            return
        for piece in behaviour.pieces():
            if behaviour.delay and not exchange.wait(behaviour.delay):
                return
            if not write(self._chunk(exchange, delta={"content": piece})):
                return
        if not behaviour.complete:
            return
        write(self._chunk(exchange, delta={}, finish_reason=behaviour.openai_finish))
        include_usage = ((exchange.request.json or {}).get("stream_options") or {}).get("include_usage")
        if behaviour.usage and include_usage:
            usage = {"prompt_tokens": behaviour.input_tokens, "completion_tokens": behaviour.output_tokens,
                     "total_tokens": _total(behaviour)}
            write(self._chunk(exchange, usage=usage))
        write("data: [DONE]\n\n")


class AnthropicServer(_ScriptedChatServer):
    """`POST /v1/messages` as Anthropic serves it: named SSE events from message_start to message_stop."""

    endpoint = "/v1/messages"

    def key_of(self, exchange):
        return exchange.request.headers.get("x-api-key", "")

    def fail(self, exchange, failure):
        error_type = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(
            failure.status, "api_error" if failure.status >= 500 else "invalid_request_error"
        )
        message = failure.message.replace("{key}", self.key_of(exchange))
        body = {"type": "error", "error": {"type": error_type, "message": message}}
        exchange.respond_json(failure.status, body, headers=failure.headers)

    @staticmethod
    def _event(name: str, payload: dict) -> str:
        return f"event: {name}\ndata: {json.dumps(payload)}\n\n"

    def answer_json(self, exchange, reply):
        body = {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model_of(exchange),
            "content": [{"type": "text", "text": reply.text}], "stop_reason": reply.anthropic_stop,
        }
        if reply.usage:
            body["usage"] = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
        exchange.respond_json(200, body)

    def stream(self, exchange, behaviour):
        write, event = exchange.write, self._event
        input_tokens = behaviour.input_tokens if isinstance(behaviour, Reply) else 5
        start = {
            "type": "message_start",
            "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model_of(exchange),
                "content": [], "stop_reason": None, "stop_sequence": None,
            },
        }
        if not isinstance(behaviour, Reply) or behaviour.usage:
            start["message"]["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        opening = event("message_start", start) + event("content_block_start", block) + event("ping", {"type": "ping"})
        if not write(opening):
            return
        if isinstance(behaviour, Malformed):
            if behaviour.shape:
                write('event: content_block_delta\ndata: {"type": "content_block_delta", "delta": "text"}\n\n')
            else:
                write('event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {"te\n\n')
            return
        if isinstance(behaviour, StreamError):
            error = {"type": behaviour.error_type, "message": behaviour.message}
            write(event("error", {"type": "error", "error": error}))
            return
        for piece in behaviour.pieces():
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            if behaviour.delay and not exchange.wait(behaviour.delay):
                return
            if not write(event("content_block_delta", delta)):
                return
        if not behaviour.complete:
            return
        usage = {"output_tokens": behaviour.output_tokens} if behaviour.usage else {}
        stop_reason = {"stop_reason": behaviour.anthropic_stop, "stop_sequence": None}
        write(
            event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + event("message_delta", {"type": "message_delta", "delta": stop_reason, "usage": usage})
            + event("message_stop", {"type": "message_stop"})
        )
