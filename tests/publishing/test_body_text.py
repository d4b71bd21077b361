"""A post's readable text (`Post.body_text`), which search snippets are cut from: derived from the
body whenever the post is saved, by the one rule for a Markdown document's text."""

from __future__ import annotations

import pytest
from django.db import connection

from publishing.models import Post
from publishing.models.posts import derive_body_text

pytestmark = pytest.mark.django_db


def test_the_text_has_no_markdown_no_title_and_headings_that_end_as_sentences():
    body = ("# Rain barrels\n\nA barrel [1] collects\nthe water off a *roof*, see [the guide](https://example.org/g).\n\n"
            "## Lids\n\n| Size | Litres |\n|---|---|\n| Small | 100 |\n\n> Fill it in spring.\n\n- Clean it.\n- Cover it.\n\n"
            "```\nbarrel --drain\n```\n\n<div class=\"note\">A <em>tap</em> helps.</div>\n\n## Why a lid?\n\n"
            "![Pixel](https://tracker.example/p.gif)\n\nMosquitoes.\n\n## Sources\n\n1. [Editor's notes](https://x.org)\n")
    text = ("A barrel collects the water off a roof, see the guide.\n\nLids.\n\nSize\n\nLitres\n\nSmall\n\n100\n\n"
            "Fill it in spring.\n\nClean it.\n\nCover it.\n\nA tap helps.\n\nWhy a lid?\n\nMosquitoes.")
    # Made from a task: the format stage's Sources section goes, as it goes from the page.
    assert derive_body_text(body, formatted="<p>A barrel…</p>") == text
    # Written by hand: a "Sources" heading is the author's own text, which the page shows.
    assert derive_body_text(body) == text + "\n\nSources.\n\nEditor's notes"


def test_only_a_leading_first_level_heading_is_the_title():
    assert derive_body_text("## Before you start\n\nText.") == "Before you start.\n\nText."
    assert derive_body_text("Opening words.\n\n# A big heading\n\nText.") == "Opening words.\n\nA big heading.\n\nText."
    assert derive_body_text("# Only a title") == ""


def test_saving_a_post_derives_its_text_and_saving_only_the_body_writes_it_too():
    post = Post.objects.create(title="Kale", slug="kale", body="# Kale\n\nKale grows in *winter*.")
    assert Post.objects.get(pk=post.pk).body_text == "Kale grows in winter."
    post.body = "# Kale\n\n> Kale is sweeter after a frost."
    post.save(update_fields=["body"])
    assert Post.objects.get(pk=post.pk).body_text == "Kale is sweeter after a frost."


def test_the_column_has_a_database_default_for_processes_of_the_release_before():
    """A rolling upgrade: a process still on the code before the column inserts posts without it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_default, is_nullable FROM information_schema.columns "
                       "WHERE table_name = 'publishing_post' AND column_name = 'body_text'")
        assert cursor.fetchone() == ("''::text", "NO")
        cursor.execute("INSERT INTO publishing_post (id, title, slug, body, body_html, excerpt, featured_image, "
                       "thumbnail, image_alt, image_credit, image_credit_url, seo, sources, created_at, updated_at) "
                       "VALUES (gen_random_uuid(), 'Old', 'old', 'Text.', '<p>Text.</p>', '', '', '', '', '', '', "
                       "'{}', '[]', now(), now())")
    assert Post.objects.get(slug="old").body_text == ""
