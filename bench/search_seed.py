"""The generated blog the search benchmark measures: 100,000 published posts, deterministic.

Text is made of synthetic words (consonant–vowel syllables ending in a, o or u, which the English
stemmer leaves alone) drawn from two distributions:

- bodies from a Zipf distribution (rank r has weight 1/r) over the core vocabulary, so the first
  few words are in every post, a rank around a thousand is in a few percent of posts; each body
  also carries a few words of a long tail (names, jargon), each in a handful of posts;
- titles and excerpts from a flatter Zipf–Mandelbrot distribution (1/(r + 20)), as real titles
  repeat their commonest words far less than bodies do.

Rows go in with COPY; one UPDATE per chunk then computes the search columns with the very SQL the
application uses (`publishing.search.REFRESH_SQL`). A body is plain sentences, one paragraph with no
Markdown, so its readable text (`body_text`, which snippets are cut from) is the body itself: the
first post checks that against `derive_body_text`. A `bench_search_seed` table records the
parameters, so a second run with the same ones reuses the data.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

SEED_TABLE = "bench_search_seed"
CATEGORIES = ["Gardening", "Cooking", "Travel", "Science", "Technology", "Health", "Culture", "Money"]
CONSONANTS = "bcdfghklmnprstvz"
VOWELS = "aeiou"
FINAL_VOWELS = "aou"
STOP_WORDS = {"a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "go", "he", "if", "in",
              "is", "it", "me", "my", "no", "of", "on", "or", "so", "to", "up", "we", "too", "who"}


@dataclass(frozen=True)
class SeedParameters:
    posts: int = 100_000
    seed: int = 20261130
    vocabulary: int = 50_000
    tail_vocabulary: int = 100_000
    tail_words_per_body: tuple[int, int] = (1, 5)
    body_words: tuple[int, int] = (300, 2000)
    title_words: tuple[int, int] = (5, 12)
    excerpt_words: tuple[int, int] = (30, 50)
    tags_per_post: tuple[int, int] = (0, 4)
    tags: int = 300
    years: int = 5

    def describe(self) -> str:
        return (
            f"{self.posts:,} published posts over {self.years} years, seed {self.seed}; bodies "
            f"{self.body_words[0]:,}–{self.body_words[1]:,} words (Zipf 1/r over {self.vocabulary:,} words, plus "
            f"{self.tail_words_per_body[0]}–{self.tail_words_per_body[1]} words of a {self.tail_vocabulary:,}-word tail), "
            f"titles {self.title_words[0]}–{self.title_words[1]} words, excerpts {self.excerpt_words[0]}–"
            f"{self.excerpt_words[1]} words (Zipf–Mandelbrot 1/(r+20)), {self.tags_per_post[0]}–{self.tags_per_post[1]} "
            f"tags of {self.tags}, {len(CATEGORIES)} categories"
        )


def make_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    words = []
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables - 1))
        word += rng.choice(CONSONANTS) + rng.choice(FINAL_VOWELS)
        if word not in taken and word not in STOP_WORDS:
            taken.add(word)
            words.append(word)
    return words


class Vocabulary:
    """The words by rank and the cumulative weights of both distributions."""

    def __init__(self, params: SeedParameters):
        rng = random.Random(params.seed)
        taken: set[str] = set()
        self.core = make_words(rng, params.vocabulary, taken)
        self.tail = make_words(rng, params.tail_vocabulary, taken)
        self.body_cumulative = list(itertools.accumulate(1 / r for r in range(1, params.vocabulary + 1)))
        self.head_cumulative = list(itertools.accumulate(1 / (r + 20) for r in range(1, params.vocabulary + 1)))

    def body_probability(self, rank: int) -> float:
        """The chance that one body word is the word of this rank (1-based)."""
        return (1 / rank) / self.body_cumulative[-1]


def _sentences(rng: random.Random, words: list[str]) -> str:
    out, start = [], 0
    while start < len(words):
        length = rng.randint(6, 18)
        sentence = words[start:start + length]
        start += length
        out.append(sentence[0].capitalize() + " " + " ".join(sentence[1:]) + ".")
    return " ".join(out)


def generate_rows(params: SeedParameters, vocabulary: Vocabulary, category_ids: list[str], tag_ids: list[str]):
    """(post row, tag ids) per post, in a deterministic order."""
    rng = random.Random(params.seed + 1)
    core, tail = vocabulary.core, vocabulary.tail
    body_cum, head_cum = vocabulary.body_cumulative, vocabulary.head_cumulative
    end = datetime(2026, 1, 1, tzinfo=timezone.utc)
    span = timedelta(days=365 * params.years).total_seconds()
    for n in range(params.posts):
        body = rng.choices(core, cum_weights=body_cum, k=rng.randint(*params.body_words))
        for _ in range(rng.randint(*params.tail_words_per_body)):
            body[rng.randrange(len(body))] = rng.choice(tail)
        title_words = rng.choices(core, cum_weights=head_cum, k=rng.randint(*params.title_words))
        excerpt = rng.choices(core, cum_weights=head_cum, k=rng.randint(*params.excerpt_words))
        published = end - timedelta(seconds=span * (n + rng.random()) / params.posts)
        row = (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            " ".join(title_words).capitalize(),
            f"bench-{n:06d}",
            _sentences(rng, body),
            _sentences(rng, excerpt),
            category_ids[rng.randrange(len(category_ids))],
            published.isoformat(),
        )
        tags = rng.sample(tag_ids, rng.randint(*params.tags_per_post))
        yield row, tags


def stored_parameters(conn) -> dict | None:
    exists = conn.execute("SELECT to_regclass(%s)", [SEED_TABLE]).fetchone()[0]
    if not exists:
        return None
    row = conn.execute(f"SELECT parameters::text FROM {SEED_TABLE} WHERE complete").fetchone()
    return json.loads(row[0]) if row else None


def _normalised(params: SeedParameters) -> dict:
    return json.loads(json.dumps(asdict(params)))


def seed(conn, params: SeedParameters, *, refresh_sql: str, log, timeout: float) -> bool:
    """Fill the blog tables with the generated posts unless the same parameters are already there.
    True when it seeded. `conn` is a psycopg connection in autocommit mode."""
    if stored_parameters(conn) == _normalised(params):
        return False
    from publishing.models.posts import derive_body_text  # Django is set up by now

    started = time.monotonic()

    def check_time(what: str) -> None:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"Seeding took over {timeout:.0f}s ({what}); try fewer --posts.")

    conn.execute(f"DROP TABLE IF EXISTS {SEED_TABLE}")
    conn.execute("TRUNCATE publishing_post_tags, publishing_post, publishing_tag, publishing_category CASCADE")
    vocabulary = Vocabulary(params)
    rng = random.Random(params.seed + 2)
    category_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in CATEGORIES]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO publishing_category (id, name, slug, description) VALUES (%s, %s, %s, '')",
            [(pk, name, name.lower()) for pk, name in zip(category_ids, CATEGORIES)],
        )
        tag_names = vocabulary.core[100:100 + params.tags]
        tag_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in tag_names]
        cursor.executemany("INSERT INTO publishing_tag (id, name, slug) VALUES (%s, %s, %s)",
                           [(pk, name, name) for pk, name in zip(tag_ids, tag_names)])
    now = datetime.now(timezone.utc).isoformat()
    post_ids: list[str] = []
    with conn.transaction(), conn.cursor() as cursor:
        post_tags: list[tuple[str, str]] = []
        with cursor.copy(
            "COPY publishing_post (id, title, slug, body, body_html, body_text, excerpt, featured_image, thumbnail,"
            " image_alt, image_credit, image_credit_url, seo, sources, category_id, published_at, live_recorded_at,"
            " created_at, updated_at) FROM STDIN"
        ) as copy:
            for n, (row, tags) in enumerate(generate_rows(params, vocabulary, category_ids, tag_ids)):
                pk, title, slug, body, excerpt, category_id, published = row
                if n == 0 and derive_body_text(body) != body:
                    raise ValueError("A generated body is not its own readable text: write body_text as derived.")
                copy.write_row((pk, title, slug, body, "", body, excerpt, "", "", "", "", "", "{}", "[]", category_id,
                                published, published, now, now))
                post_ids.append(pk)
                post_tags.extend((pk, tag) for tag in tags)
                if n % 10_000 == 9_999:
                    log(f"  generated {n + 1:,} posts")
                    check_time("generating posts")
        with cursor.copy("COPY publishing_post_tags (post_id, tag_id) FROM STDIN") as copy:
            for pair in post_tags:
                copy.write_row(pair)
    log("  computing the search columns")
    chunk = 5_000
    for start in range(0, len(post_ids), chunk):
        conn.execute(refresh_sql, [post_ids[start:start + chunk]])
        check_time("computing search columns")
        if (start // chunk) % 4 == 3:
            log(f"  search columns of {start + chunk:,} posts")
    conn.execute("VACUUM ANALYZE publishing_post")
    conn.execute("VACUUM ANALYZE publishing_post_tags")
    conn.execute(f"CREATE TABLE {SEED_TABLE} (parameters jsonb NOT NULL, complete boolean NOT NULL)")
    conn.execute(f"INSERT INTO {SEED_TABLE} VALUES (%s, true)", [json.dumps(_normalised(params))])
    log(f"  seeded in {time.monotonic() - started:.0f}s")
    return True
