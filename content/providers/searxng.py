"""Web search results from a SearXNG instance, when one is configured (PRESSROOM_SEARXNG_URL).

Off by default: without the setting this source answers nothing and touches no network. The
instance is the operator's own (often on a private network), so its address is trusted; the
results are cited, not fetched. SearXNG must have the `json` format enabled (search.formats).
"""

from __future__ import annotations

import httpx
from django.conf import settings

from content.providers import http
from content.providers.base import Brief, ResearchSource, Source, StopCheck, no_stop_check
from content.providers.research import excerpt
from tasks.exceptions import PermanentError
from tasks.metrics import observe_provider_call
from tasks.validators import MAX_URL_LENGTH, storable_text

MAX_RESULTS = 5
# A result's title is cut as a fetched page's is (`research.UrlSource`); a result whose URL is
# longer than any URL a brief may hold is skipped. Both are cited and stored with the version,
# and a title is sent in every prompt: a search result of megabytes would be too.
TITLE_CHARS = 200


class SearxngSource(ResearchSource):
    name = "searxng"

    def __init__(self, *, timeout: httpx.Timeout | float | None = None):
        self.timeout = timeout if timeout is not None else settings.PRESSROOM_FETCH_TIMEOUT_SECONDS

    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        base_url = (settings.PRESSROOM_SEARXNG_URL or "").rstrip("/")
        query = search_query(brief)
        if not base_url or not query:
            return []
        stop()
        try:
            with observe_provider_call("searxng"), \
                    http.client(timeout=self.timeout, headers={"Accept": "application/json"}) as client:
                with client.stream("GET", f"{base_url}/search", params={"q": query, "format": "json"}) as response:
                    if response.status_code == 403:
                        raise PermanentError(
                            "SearXNG refused the JSON search (HTTP 403): enable the json format under "
                            "search.formats in its settings.yml."
                        )
                    http.raise_for_status(response, provider="SearXNG")
                    text = http.read_answer(response, provider="SearXNG")
        except httpx.HTTPError as error:
            raise http.transport_error(error, provider="SearXNG") from error
        body = http.parse_json(text, provider="SearXNG")
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise PermanentError(f"SearXNG answered without a result list: {text[:120]!r}")
        sources = []
        for result in results:
            if not isinstance(result, dict):
                continue
            url, title, content = (result.get(name) for name in ("url", "title", "content"))
            if not all(isinstance(value, str) or value is None for value in (url, title, content)):
                continue  # one odd result among many: skipped, like one without a title
            url, title = storable_text(url or ""), excerpt(storable_text(title or ""), TITLE_CHARS)
            if not title or not url.startswith(("http://", "https://")) or len(url) > MAX_URL_LENGTH:
                continue
            quote = excerpt(storable_text(content or ""))
            sources.append(Source(number=0, title=title, url=url, quote=quote, kind="search"))
            if len(sources) == MAX_RESULTS:
                break
        return sources


def search_query(brief: Brief) -> str:
    """The topic, plus the primary keyword when the topic does not already say it."""
    topic, keyword = " ".join(brief.topic.split()), " ".join(brief.primary_keyword.split())
    if keyword and keyword.lower() not in topic.lower():
        return f"{topic} {keyword}".strip()
    return topic

