"""Local HTTP servers that speak the providers' real wire protocols, for the provider tests.

Each server listens on 127.0.0.1 on a free port, serves from a background thread and is used as
a context manager (`with OpenAIChatServer(Reply("Hi")) as server:`); leaving the block stops it
within a bounded time, waking any response that is hanging or streaming slowly. Every request is
recorded (method, path, query, headers, body) so tests can assert the protocol. The chat servers
answer from a script: a queue of behaviours (`Reply`, `Fail`, `Hang`, `Malformed`, `StreamError`),
one per request.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image as PillowImage

SHUTDOWN_SECONDS = 5.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


class Exchange:
    """One request and the means to answer it, possibly slowly and in pieces."""

    def __init__(self, handler: BaseHTTPRequestHandler, request: RecordedRequest, stopping: threading.Event):
        self._handler = handler
        self.request = request
        self._stopping = stopping
        self.bytes_sent = 0

    def respond(
        self, status: int, body: bytes | str = b"", *, content_type: str = "text/plain", headers: dict | None = None
    ):
        data = body.encode() if isinstance(body, str) else body
        self.start(status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        self.write(data)

    def respond_json(self, status: int, payload, *, headers: dict | None = None):
        self.respond(status, json.dumps(payload), content_type="application/json", headers=headers)

    def start(self, status: int, headers: dict):
        self._handler.send_response(status)
        for name, value in headers.items():
            self._handler.send_header(name, value)
        self._handler.end_headers()

    def write(self, data: bytes | str) -> bool:
        """Send `data` now; False when the client has gone away or the server is stopping."""
        if self._stopping.is_set():
            return False
        try:
            self._handler.wfile.write(data.encode() if isinstance(data, str) else data)
            self._handler.wfile.flush()
        except OSError:
            return False
        self.bytes_sent += len(data)
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep, but wake when the server stops; False if it did."""
        return not self._stopping.wait(seconds)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # FakeServer joins the handler threads itself, with a bound

    def __init__(self, fake: FakeServer):
        self.fake = fake
        self.handler_threads: list[threading.Thread] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request, client_address):
        import sys

        self.fake.errors.append(sys.exc_info()[1])


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: a streamed answer ends when the connection closes, as with many real servers.
    protocol_version = "HTTP/1.0"
    timeout = SHUTDOWN_SECONDS  # a client that stops sending cannot hold a thread forever

    def _dispatch(self):
        fake: FakeServer = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        fake.requests.append(request)
        exchange = Exchange(self, request, fake.stopping)
        try:
            fake.handle(exchange)
        except OSError:
            pass  # the client went away mid-answer: what the cancellation and size-cap tests do
        finally:
            fake.bytes_sent[request.path] = fake.bytes_sent.get(request.path, 0) + exchange.bytes_sent

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format, *args):
        return None


class FakeServer:
    """A threaded HTTP server on 127.0.0.1; subclasses implement `handle(exchange)`."""

    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.bytes_sent: dict[str, int] = {}
        self.stopping = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def handle(self, exchange: Exchange) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._server = _HTTPServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        for thread in [self._thread, *self._server.handler_threads]:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread for thread in self._server.handler_threads if thread.is_alive()]
        if alive and exc_info[0] is None:
            raise AssertionError(f"{type(self).__name__}: {len(alive)} handler thread(s) did not stop.")
        return False


# --- Chat APIs -------------------------------------------------------------------------------


@dataclass
class Reply:
    """Answer with `text`, streamed in `chunks` (default: word by word) `delay` seconds apart.

    `complete=False` ends the stream early (no finish, no [DONE] / message_stop); `usage=False`
    leaves the usage out; `streamed=False` answers one JSON body as if `stream` were ignored."""

    text: str
    chunks: list[str] | None = None
    delay: float = 0.0
    input_tokens: int = 42
    output_tokens: int = 17
    usage: bool = True
    complete: bool = True
    streamed: bool = True

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


@dataclass
class Malformed:
    """Start a stream, then send a chunk that is not JSON."""


@dataclass
class StreamError:
    """Start a stream, then report an error inside it."""

    error_type: str = "overloaded_error"
    message: str = "Overloaded"


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
        if isinstance(behaviour, Fail):
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
        exchange.respond_json(200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": self.model_of(exchange),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                      "total_tokens": reply.input_tokens + reply.output_tokens},
        })

    def stream(self, exchange, behaviour):
        write = exchange.write
        if not write(": keep-alive\n\n" + self._chunk(exchange, delta={"role": "assistant", "content": ""})):
            return
        if isinstance(behaviour, Malformed):
            truncated = 'data: {"choices": [{"delta": {"content": "wor\n\n'
            write(self._chunk(exchange, delta={"content": "Hello"}) + truncated)
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
        write(self._chunk(exchange, delta={}, finish_reason="stop"))
        include_usage = ((exchange.request.json or {}).get("stream_options") or {}).get("include_usage")
        if behaviour.usage and include_usage:
            usage = {"prompt_tokens": behaviour.input_tokens, "completion_tokens": behaviour.output_tokens,
                     "total_tokens": behaviour.input_tokens + behaviour.output_tokens}
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
        exchange.respond_json(200, {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model_of(exchange),
            "content": [{"type": "text", "text": reply.text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        })

    def stream(self, exchange, behaviour):
        write, event = exchange.write, self._event
        input_tokens = behaviour.input_tokens if isinstance(behaviour, Reply) else 5
        start = {
            "type": "message_start",
            "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model_of(exchange),
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        opening = event("message_start", start) + event("content_block_start", block) + event("ping", {"type": "ping"})
        if not write(opening):
            return
        if isinstance(behaviour, Malformed):
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
        stop_reason = {"stop_reason": "end_turn", "stop_sequence": None}
        write(
            event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + event("message_delta", {"type": "message_delta", "delta": stop_reason, "usage": usage})
            + event("message_stop", {"type": "message_stop"})
        )


# --- Images ----------------------------------------------------------------------------------


def make_image(size: tuple[int, int], color: tuple[int, int, int], *, format: str = "JPEG") -> bytes:
    """A real encoded image: `color`, with a white square in the middle so crops are visible."""
    image = PillowImage.new("RGB", size, color)
    width, height = size
    box = (width * 2 // 5, height * 2 // 5, width * 3 // 5, height * 3 // 5)
    image.paste((255, 255, 255), box)
    output = io.BytesIO()
    image.save(output, format=format)
    return output.getvalue()


PHOTO_COLORS = [(200, 30, 30), (30, 30, 200), (30, 160, 30)]


class PexelsServer(FakeServer):
    """The Pexels API (`GET /v1/search`) and its image host (`GET /photos/<id>.jpeg`)."""

    def __init__(self, *, photos: int = 3, photo_size: tuple[int, int] = (1600, 1000)):
        super().__init__()
        self.photo_count = photos
        self.photo_size = photo_size

    def photo(self, index: int) -> dict:
        photo_id = 1000 + index
        image = f"{self.url}/photos/{photo_id}.jpeg"
        return {
            "id": photo_id,
            "width": self.photo_size[0],
            "height": self.photo_size[1],
            "url": f"https://www.pexels.com/photo/sample-{photo_id}/",
            "photographer": ["Jane Doe", "John Roe", "Ann Example"][index % 3],
            "photographer_url": f"https://www.pexels.com/@photographer-{index}",
            "photographer_id": index,
            "avg_color": "#C81E1E",
            "src": {
                "original": image, "large2x": f"{image}?w=1880", "large": f"{image}?h=650",
                "medium": f"{image}?h=350", "small": f"{image}?h=130", "landscape": f"{image}?w=1200&h=627",
            },
            "liked": False,
            "alt": f"Sample photo number {index + 1}",
        }

    def handle(self, exchange):
        request = exchange.request
        if request.path == "/v1/search":
            if not request.headers.get("authorization"):
                exchange.respond_json(401, {"error": "Authorization field missing"})
                return
            per_page = int(request.query.get("per_page", ["15"])[0])
            photos = [self.photo(index) for index in range(min(per_page, self.photo_count))]
            body = {"page": 1, "per_page": per_page, "photos": photos, "total_results": len(photos)}
            exchange.respond_json(200, body)
        elif request.path.startswith("/photos/"):
            index = int(request.path.removeprefix("/photos/").removesuffix(".jpeg")) - 1000
            body = make_image(self.photo_size, PHOTO_COLORS[index % len(PHOTO_COLORS)])
            exchange.respond(200, body, content_type="image/jpeg")
        else:
            exchange.respond(404, "Not found")


class OpenAIImagesServer(FakeServer):
    """`POST /v1/images/generations`: the image inline as b64_json (gpt-image-1) or as a URL."""

    def __init__(self, *, as_url: bool = False):
        super().__init__()
        self.as_url = as_url

    def image_for(self, size: str) -> bytes:
        width, height = (int(part) for part in size.split("x"))
        return make_image((width, height), (120, 80, 200), format="PNG")

    def handle(self, exchange):
        request = exchange.request
        if request.method == "POST" and request.path == "/v1/images/generations":
            size = (request.json or {}).get("size", "1024x1024")
            if self.as_url:
                item = {"url": f"{self.url}/files/generated.png?size={size}"}
            else:
                item = {"b64_json": base64.b64encode(self.image_for(size)).decode("ascii")}
            exchange.respond_json(200, {
                "created": int(time.time()),
                "data": [item],
                "usage": {"input_tokens": 12, "output_tokens": 4160, "total_tokens": 4172,
                          "input_tokens_details": {"text_tokens": 12, "image_tokens": 0}},
            })
        elif request.path == "/files/generated.png":
            exchange.respond(200, self.image_for(request.query["size"][0]), content_type="image/png")
        else:
            exchange.respond_json(404, {"error": {"message": "Not found"}})


# --- Research --------------------------------------------------------------------------------


class SearxngServer(FakeServer):
    """`GET /search?q=...&format=json` as SearXNG answers it."""

    def __init__(self, *, results: int = 7):
        super().__init__()
        self.result_count = results

    def handle(self, exchange):
        request = exchange.request
        if request.path != "/search" or request.query.get("format") != ["json"]:
            exchange.respond(403, "Forbidden")
            return
        query = request.query.get("q", [""])[0]
        results = [
            {
                "url": f"https://example.org/result-{index}",
                "title": f"Result {index} about {query}",
                "content": f"Snippet {index}: what the page says about {query}. " * 3,
                "engine": "duckduckgo",
                "score": 1.0 / index,
            }
            for index in range(1, self.result_count + 1)
        ]
        exchange.respond_json(200, {"query": query, "number_of_results": len(results), "results": results})


ARTICLE_HTML = """<!doctype html>
<html><head>
<title>Composting at home: a practical guide</title>
<meta charset="utf-8">
<style>body { font-family: sans-serif } .nav { color: red }</style>
<script>var tracker = "SCRIPT-NOISE"; window.analytics = {};</script>
</head><body>
<header><a href="/">Garden Weekly</a><h1>Garden Weekly</h1></header>
<nav><ul><li><a href="/a">NAV-NOISE Home</a></li><li><a href="/b">Subscribe</a></li></ul></nav>
<main>
<article>
<h1>Composting at home</h1>
<p>Composting turns kitchen scraps and garden waste into dark, crumbly soil that feeds plants.
   It keeps food out of landfill, where it would rot without air and release methane.</p>
<p>A home compost heap needs a balance of greens and browns: greens such as vegetable peelings
   and grass clippings bring nitrogen, browns such as dry leaves and cardboard bring carbon.
   Turning the heap every week or two lets air in and speeds up composting considerably.</p>
<aside>ASIDE-NOISE: Read our other stories</aside>
<p>Most home heaps are ready in six to twelve months; the compost is done when it smells of earth.</p>
<form><input name="email"><button>FORM-NOISE Sign up</button></form>
</article>
</main>
<footer>FOOTER-NOISE &copy; Garden Weekly</footer>
<noscript>NOSCRIPT-NOISE</noscript>
<script>console.log("SCRIPT-NOISE-2")</script>
</body></html>
"""

PLAIN_TEXT = """Field notes on soil

Worms do most of the work in a cold compost heap.

A heap that is too wet smells sour; add browns such as shredded cardboard.
"""


@dataclass
class Page:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict = field(default_factory=dict)


class PageServer(FakeServer):
    """Web pages for `UrlSource`: an article in page noise, redirects, a huge page, plain text, binary.

    `/article`, `/redirect` (→ /article), `/redirect-chain/<n>` (n hops, then /article), `/loop`,
    `/redirect-metadata` (→ the cloud metadata address), `/huge` (about 20 MB of HTML, with a
    `NEEDLE` paragraph at its end, sent until the client hangs up), `/plain`, `/binary`, `/missing`.
    Tests add their own with `add(path, Page(...))`.
    """

    HUGE_BYTES = 20_000_000

    def __init__(self):
        super().__init__()
        self.pages: dict[str, Page] = {
            "/article": Page(body=ARTICLE_HTML),
            "/redirect": Page(302, headers={"Location": "/article"}),
            "/loop": Page(302, headers={"Location": "/loop"}),
            "/redirect-metadata": Page(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
            "/plain": Page(body=PLAIN_TEXT, content_type="text/plain; charset=utf-8"),
            "/binary": Page(body=b"\x00\x01\x02PK\x03\x04" * 100, content_type="application/octet-stream"),
        }

    def add(self, path: str, page: Page) -> str:
        self.pages[path] = page
        return f"{self.url}{path}"

    def handle(self, exchange):
        path = exchange.request.path
        if path.startswith("/redirect-chain/"):
            hops = int(path.rsplit("/", 1)[1])
            target = f"/redirect-chain/{hops - 1}" if hops > 1 else "/article"
            exchange.respond(302, "", headers={"Location": target})
        elif path == "/huge":
            self._huge(exchange)
        elif path in self.pages:
            page = self.pages[path]
            exchange.respond(page.status, page.body, content_type=page.content_type, headers=page.headers)
        else:
            exchange.respond(404, "<h1>Not found</h1>", content_type="text/html")

    def _huge(self, exchange):
        exchange.start(200, {"Content-Type": "text/html; charset=utf-8"})
        filler = "<p>" + "Filler words about compost and soil that go on and on. " * 20 + "</p>\n"
        if not exchange.write("<html><head><title>Huge page</title></head><body><article>\n"):
            return
        while exchange.bytes_sent < self.HUGE_BYTES:
            if not exchange.write(filler * 20):
                return
        exchange.write("<p>NEEDLE composting at home composting at home guide</p></article></body></html>")
