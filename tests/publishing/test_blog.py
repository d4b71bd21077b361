from datetime import timedelta

import pytest
from django.utils import timezone

from publishing.models import Category, Post
from tests.html_safety import assert_inert, elements

pytestmark = pytest.mark.django_db


def _post(slug: str, published_at=None, **fields) -> Post:
    return Post.objects.create(title=fields.pop("title", slug.title()), slug=slug, published_at=published_at, **fields)


def test_only_posts_published_up_to_now_are_public():
    now = timezone.now()
    public = _post("public", now - timedelta(minutes=1))
    _post("draft")
    _post("scheduled", now + timedelta(days=1))
    assert list(Post.objects.published()) == [public]


def test_blog_lists_published_posts_newest_first(client):
    now = timezone.now()
    _post("older", now - timedelta(days=2), excerpt="The older one.")
    _post("newer", now - timedelta(days=1), category=Category.objects.create(name="Science", slug="science"))
    _post("secret-draft")
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Newer") < html.index("Older")
    assert "Science" in html and "The older one." in html
    assert "Secret-Draft" not in html


def test_drafts_and_scheduled_posts_are_not_found(client):
    _post("draft")
    _post("scheduled", timezone.now() + timedelta(hours=1))
    assert client.get("/posts/draft/").status_code == 404
    assert client.get("/posts/scheduled/").status_code == 404


def test_post_body_is_rendered_as_sanitized_html(client):
    body = (
        "# Heading\n\nSome *text* and [a link](https://example.com).\n\n"
        "<script>alert(1)</script>\n\n[bad](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">'
    )
    post = _post("safe", timezone.now(), body=body)
    assert "<em>text</em>" in post.body_html
    assert 'href="https://example.com"' in post.body_html
    assert_inert(post.body_html)
    # The body's own leading "# Heading" goes: the page's one <h1> is the post's title.
    assert [tag for tag, _ in elements(post.body_html)] == ["p", "em", "a", "p", "p", "p"]
    html = client.get("/posts/safe/").content.decode()
    assert "<h1>Safe</h1>" in html and "Heading" not in html
    assert_inert(html.split("<main", 1)[1])


def test_body_html_follows_body_on_partial_saves():
    post = _post("partial", body="first")
    post.body = "**second**"
    post.save(update_fields=["body"])
    post.refresh_from_db()
    assert post.body_html.strip() == "<p><strong>second</strong></p>"
