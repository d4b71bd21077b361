"""Our own published posts as research: related reading the writer can link to.

A `content` research source that lives in `publishing` because it reads posts; `publishing`
imports `content`, never the reverse, and the pipeline finds this class through
PRESSROOM_RESEARCH_SOURCES. Relatedness is PostgreSQL full-text search (English stemming) over
each post's stored `search_vector` (title A, excerpt and tags B, body C; kept current by
`publishing.search`), matched through its GIN index: building the vectors per call instead cost
seconds per task at a thousand posts and grew with every post published.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F

from content.providers.base import Brief, ResearchSource, Source, StopCheck, no_stop_check
from content.providers.research import excerpt
from publishing.models import Post

MAX_POSTS = 3
# ts_rank (default weights: A=1, B=0.4, C=0.2) of a post whose body mentions
# one word of the topic once is about 0.06; a word in the title scores about 0.3, and repeated
# mentions in the body about 0.15. Below this a post is not related enough to suggest a link.
MIN_RANK = 0.1
_WORD = re.compile(r"\w+")


def topic_query(brief: Brief) -> str:
    """A websearch query matching posts with any word of the topic or keyword (ranked by how
    many and where): requiring all words would miss most related posts."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(f"{brief.topic} {brief.primary_keyword}"))
    return " or ".join(word for word in words if word != "or")


class InternalPostsSource(ResearchSource):
    name = "internal_posts"

    def gather(self, *, brief: Brief, inputs: dict, stop: StopCheck = no_stop_check) -> list[Source]:
        terms = topic_query(brief)
        if not terms:
            return []
        stop()
        query = SearchQuery(terms, config="english", search_type="websearch")
        posts = (
            Post.objects.published()
            .filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .filter(rank__gte=MIN_RANK)
            .order_by("-rank", "-published_at")
            .only("title", "slug", "excerpt")[:MAX_POSTS]
        )
        return [
            Source(
                number=0, title=post.title, url=post.get_absolute_url(), quote=excerpt(post.excerpt), kind="internal"
            )
            for post in posts
        ]
