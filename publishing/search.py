"""Full-text search of the public blog (PostgreSQL).

Each post carries a weighted `search_vector`: title (A), excerpt and tag names (B), body (C: its
readable text, `body_text`, so that neither Markdown, URLs nor the Sources section, which may name
the editor's private notes, can be found), built with the `english` configuration so that
"composting" finds "compost" and "composts" (the blog is
written in English; stemming matters more to readers than exact forms, and stop words such as
"the" would only make every vector longer). `post_refresh_search_vector` rebuilds it from the row
as stored; the publishing verbs call it after a post and its tags are saved, and the receivers
below follow tag changes made elsewhere (the admin saves tags after the post).

A query has `websearch_to_tsquery` semantics (quoted phrases, `or`, `-exclusion`), and its last
bare word also matches as a prefix ("compo" finds "composting"). Only published posts are ever
searched. Ranking is `ts_rank_cd` with the weights; snippets come from `ts_headline` over the
excerpt and the body's readable text (`Post.body_text`, derived at save time, so no Markdown shows),
HTML-escaped except for the `<mark>` tags. When nothing matches, `suggest_titles` offers the published titles
closest by trigram similarity (`pg_trgm`).

At 100,000 posts a word in every post cannot be ranked by reading every vector within a page's
time, so a small second vector, `search_head` (title A, excerpt and tags B, kept in the row), is
maintained alongside by the same statement, and `search_posts` bounds the ranking of very common
words to candidates from it and from the newest posts; docs/performance.md has the measurements
and the trade.
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from datetime import date

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity, TrigramWordSimilarity
from django.db import connection, connections, router
from django.db.models import Case, F, Func, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Coalesce, Concat, Greatest
from django.db.models.lookups import GreaterThan
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.utils.safestring import SafeString, mark_safe

from publishing.models import Post, Tag
from tasks.exceptions import DomainError

CONFIG = "english"  # also written into REFRESH_SQL and migration 0005
MAX_QUERY_LENGTH = 200
# ts_rank_cd weights in the order {D, C, B, A}: title 1.0, excerpt and tags 0.4, body 0.2.
WEIGHTS = [0.1, 0.2, 0.4, 1.0]
# A value keeps its spaces only when quoted: unquoted, the fragments were glued ("People…compost").
FRAGMENT_DELIMITER = " … "
HEADLINE_OPTIONS = ("StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2, "
                    f'FragmentDelimiter="{FRAGMENT_DELIMITER}"')
# A word written after each sentence's end in the text a headline is cut from: ts_headline ends a
# fragment on a word, so a fragment ending on this word ended a sentence, and one ending on any
# other word cut into one. `safe_headline` takes the marks out again.
SENTENCE_MARK = "pressroomsentenceend"
SENTENCE_ENDS = r"([.!?…])(\s|$)"
SUGGESTION_THRESHOLD = 0.3
SUGGESTIONS = 5
# Beyond this many (estimated) matches, ranking is bounded: see `search_posts` and docs/performance.md.
EXACT_RANKING_LIMIT = 1000
HEAD_CANDIDATES = 50
HEAD_WINDOW = 5_000
RECENT_WINDOW = 100
HEADLINE_CHARS = 2000
HEADLINE_LEAD = 200
EXCERPT_PROBE_CHARS = 40  # an excerpt whose start the body's opening holds is the body's own
EXCERPT_SEARCH_CHARS = 1000  # the opening: the first paragraph, perhaps after a heading
# What the result list never shows: left in the table (the vectors and bodies are long).
UNSHOWN_FIELDS = ("body", "body_html", "body_text", "seo", "sources", "search_vector", "search_head")

# A tsvector holds at most 1 MiB (PostgreSQL refuses a larger one, "string is too long for
# tsvector"), and distinct short words cost up to 5 bytes of vector per character of text (measured:
# three-letter words of four-byte letters; Cyrillic 3.2, English prose about 1), so only the first
# SEARCHED_BODY_CHARS of a body's text and SEARCHED_EXCERPT_CHARS of an excerpt are searched (at
# most about 800 kB with the title and tags). A post of 35,000 distinct words (a pasted list of
# checksums, which the first admin let in) stopped migration 0005 and could not be saved.
SEARCHED_BODY_CHARS = 150_000
SEARCHED_EXCERPT_CHARS = 10_000

# The head (title A, excerpt and tags B) and the full vector (the head, then the body as C), in one
# statement; migrations 0005 and 0006 filled existing rows with copies of these expressions (from the
# Markdown body, before `body_text`), 0017 with this one.
REFRESH_SQL = f"""
UPDATE publishing_post AS p SET search_head = h.head,
    search_vector = h.head || setweight(to_tsvector('english', left(coalesce(p.body_text, ''), {SEARCHED_BODY_CHARS})), 'C')
FROM (
    SELECT q.id, setweight(to_tsvector('english', coalesce(q.title, '')), 'A')
        || setweight(to_tsvector('english', left(coalesce(q.excerpt, ''), {SEARCHED_EXCERPT_CHARS}) || ' ' || coalesce((
            SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
            JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = q.id), '')), 'B') AS head
    FROM publishing_post AS q WHERE q.id = ANY(%s::uuid[])
) AS h
WHERE p.id = h.id
"""


class SearchQueryTooLong(DomainError):
    status_code = 400
    code = "query_too_long"


# --- keeping the vector current --------------------------------------------------------------
def post_refresh_search_vector(post: Post) -> None:
    """Rebuild the post's search vector from its stored title, excerpt, tags and body."""
    refresh_search_vectors([post.pk])


def refresh_search_vectors(post_ids) -> None:
    ids = [str(pk) for pk in post_ids if pk is not None]
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(REFRESH_SQL, [ids])


def _tags_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        refresh_search_vectors([instance.pk])
    elif pk_set:
        refresh_search_vectors(pk_set)
    # A tag's post_clear (reverse) gives no post ids: rare, and the next save refreshes them.


def _tag_saved(sender, instance, created, **kwargs) -> None:
    if not created:
        refresh_search_vectors(instance.posts.values_list("pk", flat=True))


def _tag_deleting(sender, instance, **kwargs) -> None:
    # Deleting a tag deletes its rows of the posts' tags without an m2m_changed signal.
    instance._tagged_post_ids = list(instance.posts.values_list("pk", flat=True))


def _tag_deleted(sender, instance, **kwargs) -> None:
    refresh_search_vectors(getattr(instance, "_tagged_post_ids", ()))


m2m_changed.connect(_tags_changed, sender=Post.tags.through, dispatch_uid="publishing.search.tags_changed")
post_save.connect(_tag_saved, sender=Tag, dispatch_uid="publishing.search.tag_saved")
pre_delete.connect(_tag_deleting, sender=Tag, dispatch_uid="publishing.search.tag_deleting")
post_delete.connect(_tag_deleted, sender=Tag, dispatch_uid="publishing.search.tag_deleted")


# --- queries -----------------------------------------------------------------------------------
def clean_query(raw) -> str:
    """The query without NUL and control characters, whitespace collapsed; over 200 characters is
    refused with a 400."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in str(raw or ""))
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_LENGTH:
        raise SearchQueryTooLong(
            f"The search query is too long: at most {MAX_QUERY_LENGTH} characters, please.",
            fields={"q": [f"At most {MAX_QUERY_LENGTH} characters."]},
        )
    return _without_dangling_minus(text)


def _without_dangling_minus(text: str) -> str:
    """`text` with a `-` only where websearch reads it as "not" (right before a word or a quoted
    phrase) or inside a hyphenated word: runs of it become one, a minus before nothing goes.
    PostgreSQL stacks each minus that negates nothing, and 33 of them (`---…`, `- - -…`, a pasted
    Markdown rule) overflow its parser ("tsquery stack too small"), a 500 for any reader."""
    text = _MINUS_RUN.sub("-", text)
    return " ".join(_DANGLING_MINUS.sub(" ", text).split())


_MINUS_RUN = re.compile(r"-{2,}")
_DANGLING_MINUS = re.compile(r'-(?![\w"])')


def _split_last_word(text: str) -> tuple[str, str]:
    """(the query without its last word, that word reduced to letters and digits) when the last
    word is a bare one — not negated, not inside quotes, not `or`; else (text, "")."""
    if text.count('"') % 2 or text.endswith('"'):
        return text, ""
    head, _, last = text.rpartition(" ")
    if last.startswith("-") or last.lower() == "or":
        return text, ""
    word = "".join(ch for ch in last if ch.isalnum() and unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lo", "Lm", "Nd"))
    return (head, word) if word else (text, "")


def build_query(text: str) -> SearchQuery:
    """websearch semantics for the whole query, or the query with its last word as a prefix."""
    full = SearchQuery(text, config=CONFIG, search_type="websearch")
    rest, word = _split_last_word(text)
    if not word:
        return full
    prefix = SearchQuery(f"{word}:*", config=CONFIG, search_type="raw")  # letters and digits only
    return full | (SearchQuery(rest, config=CONFIG, search_type="websearch") & prefix)


class Headline(Func):
    """ts_headline over the HTML-escaped excerpt and body, marks around the matches."""

    function = "ts_headline"
    output_field = TextField()


def _escaped(expression):
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        expression = Func(expression, Value(old, output_field=TextField()), Value(new, output_field=TextField()), function="replace", output_field=TextField())
    return expression


def safe_headline(raw: str | None) -> SafeString:
    """Keep only the <mark> tags of a headline; everything else is text, escaped exactly once.
    A headline that starts inside a sentence begins with "… " and one that stops inside a
    sentence ends with " …" (fragments between are joined by " … "), so that a cut never reads
    as the end of what was said; the sentence marks are taken out."""
    raw = (raw or "").strip()
    bare = re.sub(r"</?mark>", "", raw)  # a search for the mark's own word marks the marks
    starts_a_sentence, ends_a_sentence = bare.startswith(SENTENCE_MARK), bare.endswith(SENTENCE_MARK)
    raw = re.sub(rf"\s*(?:<mark>)?\b{SENTENCE_MARK}\b(?:</mark>)?", "", raw).strip()
    parts = re.split(r"(</?mark>)", raw)
    out, open_mark = [], False
    for part in parts:
        if part == "<mark>" and not open_mark:
            out.append(part)
            open_mark = True
        elif part == "</mark>" and open_mark:
            out.append(part)
            open_mark = False
        elif part not in ("<mark>", "</mark>"):
            out.append(html.escape(html.unescape(part)))
    if open_mark:
        out.append("</mark>")
    shown = "".join(out)
    if not shown:
        return mark_safe(shown)
    if not starts_a_sentence and bare[:1].islower():
        shown = f"… {shown}"
    if not ends_a_sentence:
        shown = f"{shown} …"
    return mark_safe(shown)


def _filtered(*, category, tag, date_from, date_to):
    posts = Post.objects.published()
    if category:
        posts = posts.filter(category__slug=category)
    if tag:
        posts = posts.filter(tags__slug=tag)
    if date_from:
        posts = posts.filter(published_at__date__gte=date_from)
    if date_to:
        posts = posts.filter(published_at__date__lte=date_to)
    return posts


def _excerpt_unless_from_body():
    """The excerpt, or nothing when it is the body's own first paragraph (the format stage's
    excerpt: its plain text, as `body_text` holds it), which the snippet would show twice. Only
    the body's opening is read: a search through a whole long body costs per result."""
    text = TextField()
    excerpt = Coalesce(F("excerpt"), Value(""), output_field=text)
    opening = Func(F("body_text"), Value(1), Value(EXCERPT_SEARCH_CHARS), function="substr", output_field=text)
    probe = Func(excerpt, Value(EXCERPT_PROBE_CHARS), function="left", output_field=text)
    found = Func(opening, probe, function="strpos", output_field=IntegerField())
    return Case(When(GreaterThan(found, 0), then=Value("")), default=excerpt, output_field=text)


def _body_slice(word: str):
    """HEADLINE_CHARS of the body's readable text, starting a little before the first place `word`
    (lower case) occurs in it, or at the start: ts_headline reads the whole text it is given, and a
    long body costs a millisecond or more per result."""
    body = Coalesce(F("body_text"), Value(""), output_field=TextField())
    if not word:
        return Func(body, Value(1), Value(HEADLINE_CHARS), function="substr", output_field=TextField())
    found = Func(Func(body, function="lower", output_field=TextField()), Value(word), function="strpos")
    start = Greatest(found - HEADLINE_LEAD, Value(1))
    return Func(body, start, Value(HEADLINE_CHARS), function="substr", output_field=TextField())


def _first_word(text: str) -> str:
    """The first query word that is not excluded, lower case, cut to a stem-like prefix so that
    "composting" also finds "compost" in the body."""
    for token in re.findall(r'-?"?[^\W_]+', text):
        if not token.startswith("-") and token.strip('"').lower() != "or":
            return token.strip('"').lower()[:6]
    return ""


def _with_rank_and_headline(posts, tsquery, text: str = ""):
    text_field = TextField()
    # The body's readable text (`Post.body_text`), not its Markdown: no syntax to take out here.
    document = Concat(_excerpt_unless_from_body(), Value("\n\n"), _body_slice(_first_word(text)),
                      output_field=text_field)
    document = Func(document, Value(SENTENCE_ENDS), Value(rf"\1 {SENTENCE_MARK}\2"), Value("g"),
                    function="regexp_replace", output_field=text_field)
    return posts.select_related("category").defer(*UNSHOWN_FIELDS).annotate(
        rank=SearchRank(F("search_vector"), tsquery, weights=WEIGHTS, cover_density=True),
        headline=Headline(Func(Value(CONFIG), template="%(expressions)s::regconfig"), _escaped(document), tsquery,
                          Value(HEADLINE_OPTIONS, output_field=TextField())),
    )


def estimated_matches(posts) -> int:
    """The planner's estimate of how many rows `posts` holds: from the vector's statistics (the
    commonest lexemes and their frequencies), without reading a single vector."""
    sql, params = posts.values("pk").query.sql_with_params()
    with connections[posts.db].cursor() as cursor:  # where the query itself would run (a replica)
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class SearchResults:
    """One search's results, in order, for a `Paginator`: `count()` and slices.

    `complete` is False when more posts may match than were ranked or counted (a very common word):
    `count()` is then the number of ranked candidates (relevance order) or EXACT_RANKING_LIMIT
    (newest-first order), and the page does not claim a total."""

    def __init__(self, posts, *, total: int | None = None, complete: bool = True, ranked_ids=None):
        self.posts = posts
        self.complete = complete
        self._ranked_ids = ranked_ids  # [(pk, rank)] when ranked in advance
        self._total = total

    def count(self) -> int:
        if self._total is None:
            self._total = self.posts.count()
        return self._total

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        return iter(self[0:self.count()])

    def __getitem__(self, index):
        if self._ranked_ids is None:
            return self.posts[index]
        window = self._ranked_ids[index] if isinstance(index, slice) else [self._ranked_ids[index]]
        rows = {post.pk: post for post in self.posts.filter(pk__in=[pk for pk, _ in window])}
        page = []
        for pk, rank in window:
            if pk in rows:
                rows[pk].rank = rank
                page.append(rows[pk])
        return page if isinstance(index, slice) else page[0]


def search_posts(query, *, category=None, tag=None, date_from: date | None = None, date_to: date | None = None,
                 order: str = "relevance") -> SearchResults:
    """Published posts matching the query, with `rank` and `headline` (raw; pass it through
    `safe_headline`). An empty query gives no results.

    When the planner expects at most EXACT_RANKING_LIMIT matches, every match is ranked. Beyond
    that (a word in a large share of the posts), ranking every match would read every full vector;
    the ranked candidates are then the HEAD_CANDIDATES newest posts among the HEAD_WINDOW newest
    whose head vector (title and excerpt, where the weights put most of the rank) matches, and every
    match among the RECENT_WINDOW newest posts, ranked with the full vector. Newest-first order
    needs no ranking: it reads the date index and stops at the page. docs/performance.md says
    what this trades."""
    text = clean_query(query)
    if not text:
        return SearchResults(Post.objects.none(), total=0)
    tsquery = build_query(text)
    posts = _filtered(category=category, tag=tag, date_from=date_from, date_to=date_to)
    matches = posts.filter(search_vector=tsquery)
    estimate = estimated_matches(matches)
    if estimate <= EXACT_RANKING_LIMIT:
        ranked = _with_rank_and_headline(matches, tsquery, text)
        if order == "date":
            return SearchResults(ranked.order_by("-published_at", "-rank"))
        return SearchResults(ranked.order_by("-rank", "-published_at"))
    if order == "date":
        total = matches.values("pk")[:EXACT_RANKING_LIMIT + 1].count()
        return SearchResults(_with_rank_and_headline(matches, tsquery, text).order_by("-published_at"),
                             total=min(total, EXACT_RANKING_LIMIT), complete=total <= EXACT_RANKING_LIMIT)
    return _bounded_relevance(posts, tsquery, text)


def _newest_cutoff(position: int):
    """The publication time of the `position`-th newest published post (None: fewer posts)."""
    found = list(Post.objects.published().order_by("-published_at")
                 .values_list("published_at", flat=True)[position - 1:position])
    return found[0] if found else None


def _bounded_relevance(posts, tsquery, text: str) -> SearchResults:
    head_cutoff, recent_cutoff = _newest_cutoff(HEAD_WINDOW), _newest_cutoff(RECENT_WINDOW)
    head = posts.filter(search_head=tsquery)
    if head_cutoff:
        head = head.filter(published_at__gte=head_cutoff)
    recent = posts.filter(search_vector=tsquery)
    if recent_cutoff:
        recent = recent.filter(published_at__gte=recent_cutoff)
    candidates = set(head.order_by("-published_at").values_list("pk", flat=True)[:HEAD_CANDIDATES])
    candidates |= set(recent.values_list("pk", flat=True))
    ranked = list(
        Post.objects.filter(pk__in=candidates, search_vector=tsquery)
        .annotate(rank=SearchRank(F("search_vector"), tsquery, weights=WEIGHTS, cover_density=True))
        .order_by("-rank", "-published_at").values_list("pk", "rank")
    )
    page_rows = _with_rank_and_headline(Post.objects.all(), tsquery, text)
    return SearchResults(page_rows, total=len(ranked), complete=False, ranked_ids=ranked)


def trigram_available() -> bool:
    """Whether the database has pg_trgm (the embedded development server has no contrib extensions)."""
    with connections[router.db_for_read(Post)].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def suggest_titles(query, limit: int = SUGGESTIONS) -> list[Post]:
    """Published posts whose titles are closest to the query: by pg_trgm similarity, or, on a server
    without pg_trgm, by comparing the newest titles in Python (`difflib`)."""
    text = clean_query(query)
    if not text:
        return []
    if not trigram_available():
        return _suggest_titles_in_python(text, limit)
    # The `%` and `<%` operators (pg_trgm's default threshold, 0.3) can use the title's trigram
    # index; a bare similarity() comparison would compute it for every title.
    similarity = Greatest(TrigramSimilarity("title", text), TrigramWordSimilarity(text, "title"))
    return list(
        Post.objects.published().filter(Q(title__trigram_similar=text) | Q(title__trigram_word_similar=text))
        .annotate(similarity=similarity)
        .filter(similarity__gte=SUGGESTION_THRESHOLD).order_by("-similarity", "-published_at")[:limit]
    )


PYTHON_SUGGESTION_CANDIDATES = 2000


def _suggest_titles_in_python(text: str, limit: int) -> list[Post]:
    wanted = text.lower()

    def closeness(title: str) -> float:
        title = title.lower()
        whole = difflib.SequenceMatcher(None, wanted, title).ratio()
        words = max((difflib.SequenceMatcher(None, wanted, word).ratio() for word in title.split()), default=0.0)
        return max(whole, words)

    candidates = list(Post.objects.published().order_by("-published_at")[:PYTHON_SUGGESTION_CANDIDATES])
    scored = sorted(((closeness(post.title), post) for post in candidates), key=lambda pair: -pair[0])
    return [post for score, post in scored if score >= 0.6][:limit]
