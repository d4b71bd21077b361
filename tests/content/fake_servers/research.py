"""Research sources: a SearXNG instance and plain web pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.content.fake_servers.base import FakeServer

class SearxngServer(FakeServer):
    """`GET /search?q=...&format=json` as SearXNG answers it; `odd_results` come first, as given."""

    def __init__(self, *, results: int = 7, odd_results: list | None = None):
        super().__init__()
        self.result_count = results
        self.odd_results = odd_results or []

    def handle(self, exchange):
        request = exchange.request
        if request.path != "/search" or request.query.get("format") != ["json"]:
            exchange.respond(403, "Forbidden")
            return
        query = request.query.get("q", [""])[0]
        results = self.odd_results + [
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
