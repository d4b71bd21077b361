"""A fake OpenAI-compatible model of fixed latency, for benchmarks that run the real content
pipeline in a cluster while other load goes on (`bench/load_under_pipeline.py`).

The test suite's scripted chat server (`tests.content.fake_servers`) answers requests in the order
they arrive, which suits one task at a time. Here many tasks call at once, so this server answers
by what is asked, read from the first line of the prompt the pipeline sends
(`content.providers.chat`): an outline, the article, a revision or the editor's critique. Every
answer comes after the same `latency` seconds and is streamed in a few chunks, so the model costs
the pipeline a fixed wait per call and this process (the measuring one) little CPU. The answers are
written from the editor's notes every benchmark brief carries (`tests.content.notes.COMPOSTING`),
with citations of that one source, so the pipeline's checks find what they look for.
"""

from __future__ import annotations

import json

from tests.content.fake_servers import OpenAIChatServer, Reply
from tests.content.notes import COMPOSTING

TOPIC = "Composting at home"
NOTES = COMPOSTING.strip()
SECTIONS = ["What a compost heap needs", "Keeping the heap healthy", "What goes in and what stays out",
            "Using the finished compost"]


def _article() -> str:
    paragraphs = [paragraph.strip() for paragraph in NOTES.split("\n\n") if paragraph.strip()]
    cited = [paragraph.rstrip(".") + " [1]." for paragraph in paragraphs]
    parts = [f"# {TOPIC}", cited[0]]
    per_section = max(1, (len(cited) - 2) // len(SECTIONS))
    for index, heading in enumerate(SECTIONS):
        parts += [f"## {heading}", *cited[1 + index * per_section: 1 + (index + 1) * per_section]]
    parts += ["## Conclusion", cited[-1]]
    return "\n\n".join(parts)


ARTICLE = _article()
ANSWERS = {
    "Plan an article.": json.dumps({"title": TOPIC, "sections": SECTIONS}),
    "Write the article.": ARTICLE,
    "Revise the article below.": ARTICLE,
    "You are now the editor.": "A clear, well structured piece that keeps to its notes and cites them.",
}


def _chunks(text: str, count: int = 8) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[start:start + size] for start in range(0, len(text), size)]


class FixedLatencyModel(OpenAIChatServer):
    """`POST /v1/chat/completions`: the answer for the kind of prompt, after `latency` seconds."""

    def __init__(self, latency: float):
        super().__init__()
        self.latency = latency

    def handle(self, exchange) -> None:
        if exchange.request.method != "POST" or exchange.request.path != self.endpoint:
            exchange.respond_json(404, {"error": {"message": "No such route", "type": "not_found"}})
            return
        messages = (exchange.request.json or {}).get("messages") or [{}]
        prompt = str(messages[-1].get("content", ""))
        text = next((answer for start, answer in ANSWERS.items() if prompt.startswith(start)), None)
        if text is None:
            exchange.respond_json(400, {"error": {"message": "Unknown prompt", "type": "invalid_request_error"}})
            return
        if not exchange.wait(self.latency):
            return
        exchange.start(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        self.stream(exchange, Reply(text, chunks=_chunks(text)))
