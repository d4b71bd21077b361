"""Local HTTP servers that speak the providers' real wire protocols, for the provider tests.

Each server listens on 127.0.0.1 on a free port, serves from a background thread and is used as
a context manager (`with OpenAIChatServer(Reply("Hi")) as server:`); leaving the block stops it
within a bounded time, waking any response that is hanging or streaming slowly. Every request is
recorded (method, path, query, headers, body) so tests can assert the protocol. The chat servers
answer from a script: a queue of behaviours (`Reply`, `Fail`, `Hang`, `Malformed`, `StreamError`,
`Raw`), one per request.

One module per kind of server: `base` (the common server), `chat`, `images`, `research`.
"""

from tests.content.fake_servers.base import Exchange, FakeServer, RecordedRequest, gzip_bomb, peak_memory
from tests.content.fake_servers.chat import (
    AnthropicServer, Fail, Hang, Malformed, OpenAIChatServer, Raw, Reply, StreamError,
)
from tests.content.fake_servers.images import PHOTO_COLORS, OpenAIImagesServer, PexelsServer, make_image
from tests.content.fake_servers.research import ARTICLE_HTML, PLAIN_TEXT, Page, PageServer, SearxngServer

__all__ = [
    "ARTICLE_HTML", "PHOTO_COLORS", "PLAIN_TEXT", "AnthropicServer", "Exchange", "Fail", "FakeServer", "Hang",
    "Malformed", "OpenAIChatServer", "OpenAIImagesServer", "Page", "PageServer", "PexelsServer", "Raw", "RecordedRequest",
    "Reply", "SearxngServer", "StreamError", "gzip_bomb", "make_image", "peak_memory",
]
