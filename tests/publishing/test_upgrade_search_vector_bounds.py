"""A tsvector holds at most 1 MiB. A hand-written post of 35,000 distinct words (1.1 MB: a pasted
list of checksums), which the first release's admin saved, stopped `migrate` at publishing 0005
("string is too long for tsvector") and could not be saved today either; the vector is built from
the first `SEARCHED_BODY_CHARS` of the body's text now, so the post upgrades, saves and is found by
its opening."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from publishing.models import Post
from publishing.search import SEARCHED_BODY_CHARS
from publishing.services.posts import post_save_by_person
from tests.upgrades import database_at, migrate_to

CHECKSUMS = "Release checksums:\n\n" + "\n".join(hashlib.md5(str(i).encode()).hexdigest() for i in range(35_000))
FIRST, PAST_THE_BOUND = hashlib.md5(b"5").hexdigest(), hashlib.md5(b"34000").hexdigest()
BEFORE_0005 = [("tasks", "0005_revision_rounds_and_event_kinds"), ("content", "0004_review_reasons_and_revisions"),
               ("publishing", "0004_post_publication_fields_and_changes")]


def _found(word: str) -> bool:
    return "/posts/checksums/" in Client().get("/search/", {"q": word}).content.decode()


def test_a_post_of_35000_distinct_words_is_saved_and_found_by_its_opening(superuser):
    post = Post(title="Checksums", slug="checksums", body=CHECKSUMS, published_at=timezone.now() - dt.timedelta(hours=1))
    post_save_by_person(post=post, by=superuser, changed={"title", "slug", "body", "published_at"}, adding=True)

    assert len(CHECKSUMS) > SEARCHED_BODY_CHARS
    assert _found(FIRST) and _found("checksums")
    assert not _found(PAST_THE_BOUND)


@pytest.mark.slow
def test_a_first_release_post_of_35000_distinct_words_upgrades(transactional_db):
    with database_at(*BEFORE_0005) as old:
        old.get_model("publishing", "Post").objects.create(
            title="Checksums", slug="checksums", body=CHECKSUMS, published_at=timezone.now() - dt.timedelta(hours=1))
        migrate_to()

    post = Post.objects.get(slug="checksums")
    assert post.search_vector and post.body_text.startswith("Release checksums:")
    assert _found(FIRST)
