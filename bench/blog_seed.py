"""Seed the blog benchmark's database with published posts (run by bench/blog_pages.py).

    DJANGO_SETTINGS_MODULE=bench.blog_settings python -m bench.blog_seed --posts 1000

Deterministic: the same --posts gives the same posts. Bodies are 400-1,600 words of Markdown with
headings and paragraphs, drawn from a Zipf-like vocabulary; 8 categories, 40 tags, 0-4 tags per
post, publication dates spread over the last two years. The search vectors are filled the way the
publishing verbs fill them. Posts already there are kept when their count matches.
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from publishing.models import Category, Post, Tag  # noqa: E402
from publishing.search import post_refresh_search_vector  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "qu", "dan", "fi", "gor", "hal", "ix", "jun", "pe", "ros"]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def zipf_words(rng: random.Random, words: list[str], count: int) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(words))]
    return rng.choices(words, weights=weights, k=count)


def sentence(rng, words) -> str:
    text = " ".join(zipf_words(rng, words, rng.randint(8, 22)))
    return text[0].upper() + text[1:] + "."


def body(rng, words) -> str:
    parts, target, count = [], rng.randint(400, 1600), 0
    while count < target:
        if count and rng.random() < 0.15:
            parts.append("## " + sentence(rng, words)[:-1])
        paragraph = " ".join(sentence(rng, words) for _ in range(rng.randint(3, 7)))
        parts.append(paragraph)
        count += len(paragraph.split())
    return "\n\n".join(parts)


def seed(posts: int) -> None:
    if Post.objects.count() == posts:
        print(f"{posts} posts already seeded")
        return
    rng = random.Random(20261130)
    words = vocabulary(rng)
    with transaction.atomic():
        Post.objects.all().delete()
        Category.objects.all().delete()
        Tag.objects.all().delete()
        categories = [Category.objects.create(name=f"Category {index}", slug=f"category-{index}") for index in range(8)]
        tags = [Tag.objects.create(name=f"tag {word}", slug=f"tag-{word}") for word in words[100:140]]
        now = timezone.now()
        for index in range(posts):
            title = sentence(rng, words[50:])[:-1]
            post = Post.objects.create(
                title=title[:300], slug=f"post-{index}", body=body(rng, words),
                excerpt=" ".join(sentence(rng, words) for _ in range(2)),
                category=rng.choice(categories),
                published_at=now - timedelta(minutes=index * 7 + 1),
                seo={"reading_time_minutes": rng.randint(2, 8), "meta_description": title[:150]},
            )
            post.tags.set(rng.sample(tags, rng.randint(0, 4)))
            post_refresh_search_vector(post)
    print(f"seeded {posts} posts")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    seed(parser.parse_args().posts)
