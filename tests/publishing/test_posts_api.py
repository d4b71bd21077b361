"""The public posts API: what it shows, to whom, how fast it refuses, and which sites may read it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from content.providers.base import Image
from content.selectors import current_version
from content.services.review import task_approve
from content.services.versions import version_create
from publishing.api.public import PublicRateThrottle
from publishing.models import Category, Post, Tag
from publishing.services.posts import task_publish, task_unpublish
from tests.api_errors import error_of
from tests.editorial import completed_task

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
SUMMARY_FIELDS = {"id", "slug", "title", "excerpt", "url", "published_at", "updated_at", "category", "tags",
                  "reading_time", "featured_image"}
APP = "https://app.example.com"


def _post(slug: str, *, hours_ago: float | None = 1, tags=(), **fields) -> Post:
    at = None if hours_ago is None else timezone.now() - timedelta(hours=hours_ago)
    post = Post.objects.create(slug=slug, title=fields.pop("title", slug.title()), published_at=at, **fields)
    for name in tags:
        post.tags.add(Tag.objects.get_or_create(name=name.title(), slug=name)[0])
    return post


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["slug"] for item in response.json()["results"]]


@pytest.fixture
def blog():
    garden = Category.objects.create(name="Gardening", slug="gardening")
    kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
    _post("oldest", hours_ago=30, category=garden, tags=["soil"], excerpt="Old.", seo={"reading_time_minutes": 4})
    _post("middle", hours_ago=20, category=kitchen, tags=["soil", "bread"])
    _post("newest", hours_ago=10, tags=["bread"])
    _post("draft", hours_ago=None, category=garden, tags=["soil"])
    _post("scheduled", hours_ago=-24, category=garden, tags=["soil"])
    return garden


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- Visibility -----------------------------------------------------------------------------

def test_lists_only_published_posts_newest_first(api_client, blog):
    response = api_client.get("/api/posts")
    assert slugs(response) == ["newest", "middle", "oldest"]
    assert response.json()["count"] == 3


@pytest.mark.parametrize("slug", ["draft", "scheduled", "no-such-post"])
def test_drafts_scheduled_and_unknown_posts_are_not_found(api_client, blog, slug):
    error_of(api_client.get(f"/api/posts/{slug}"), 404, "not_found")


def test_a_post_published_through_the_verbs_is_shown_until_unpublished(api_client, editor, reviewer, media_root):
    task = completed_task(created_by=editor)
    base = current_version(task)
    notes = {"number": 2, "title": "Editor's notes", "url": "", "quote": "private", "kind": "pasted"}
    version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                   excerpt=base.excerpt, seo=base.seo, sources=[*base.sources, notes],
                   image=Image(content=b"\x89PNG fake", content_type="image/png", width=1200, height=630,
                               alt="A heap of compost"))
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)

    body = api_client.get(f"/api/posts/{post.slug}/").json()
    assert body["title"] == "Composting at home"
    assert body["body_html"] == post.body_html
    assert body["sources"] == [{"number": 1, "title": "Compost guide", "url": "https://example.org/compost"}]
    assert body["meta_description"] == "Compost."
    assert body["reading_time"] == 1
    assert body["category"] == {"name": "Gardening", "slug": post.category.slug}
    assert {tag["slug"] for tag in body["tags"]} == {tag.slug for tag in post.tags.all()}
    assert body["featured_image"]["url"] == f"http://testserver/media/{post.featured_image.name}"
    assert body["featured_image"]["alt"] == "A heap of compost"
    assert slugs(api_client.get("/api/posts")) == [post.slug]

    task_unpublish(task=task, by=reviewer, reason="Withdrawn")
    error_of(api_client.get(f"/api/posts/{post.slug}"), 404, "not_found")
    assert slugs(api_client.get("/api/posts")) == []


# --- Fields ---------------------------------------------------------------------------------

def test_list_items_carry_the_summary_fields(api_client, blog):
    items = {item["slug"]: item for item in api_client.get("/api/posts").json()["results"]}
    oldest = items["oldest"]
    assert set(oldest) == SUMMARY_FIELDS
    assert oldest["url"] == "http://testserver/posts/oldest/"
    assert oldest["excerpt"] == "Old."
    assert oldest["category"] == {"name": "Gardening", "slug": "gardening"}
    assert oldest["tags"] == [{"name": "Soil", "slug": "soil"}]
    assert oldest["reading_time"] == 4
    assert oldest["featured_image"] is None
    assert items["newest"]["category"] is None
    assert items["newest"]["reading_time"] is None
    assert [tag["slug"] for tag in items["middle"]["tags"]] == ["bread", "soil"]


def test_detail_adds_body_sources_and_meta_description(api_client):
    _post("hand-written", body="Hello **there**", excerpt="A greeting.",
          sources=[{"number": 1, "title": "A page", "url": "https://example.org/", "quote": "", "kind": "web"}])
    body = api_client.get("/api/posts/hand-written").json()
    assert set(body) == SUMMARY_FIELDS | {"body_html", "sources", "meta_description"}
    assert "<strong>there</strong>" in body["body_html"]
    assert body["sources"] == [{"number": 1, "title": "A page", "url": "https://example.org/"}]
    assert body["meta_description"] == "A greeting."  # no SEO description: the excerpt


def test_featured_image_urls_are_absolute(api_client, media_root):
    post = _post("pictured", image_alt="A pear", image_credit="Jo", image_credit_url="https://example.org/jo")
    post.featured_image.name, post.thumbnail.name = "posts/2026/01/pear.png", "posts/2026/01/thumbnails/pear.png"
    post.save()
    image = api_client.get("/api/posts/pictured").json()["featured_image"]
    assert image == {
        "url": "http://testserver/media/posts/2026/01/pear.png",
        "thumbnail_url": "http://testserver/media/posts/2026/01/thumbnails/pear.png",
        "alt": "A pear", "credit": "Jo", "credit_url": "https://example.org/jo",
    }


# --- Filters, ordering, pages ---------------------------------------------------------------

def test_filters_by_category_and_tag_slug(api_client, blog):
    assert slugs(api_client.get("/api/posts?category=gardening")) == ["oldest"]
    assert slugs(api_client.get("/api/posts?tag=bread")) == ["newest", "middle"]
    assert slugs(api_client.get("/api/posts?tag=soil&category=kitchen")) == ["middle"]
    assert slugs(api_client.get("/api/posts?tag=no-such-tag")) == []


def test_ordering_by_date_either_way(api_client, blog):
    assert slugs(api_client.get("/api/posts?ordering=published_at")) == ["oldest", "middle", "newest"]
    assert slugs(api_client.get("/api/posts?ordering=-published_at")) == ["newest", "middle", "oldest"]
    assert slugs(api_client.get("/api/posts?ordering=title")) == ["newest", "middle", "oldest"]  # not offered


def test_pages(api_client, blog):
    first = api_client.get("/api/posts?page_size=2").json()
    assert first["count"] == 3
    assert [item["slug"] for item in first["results"]] == ["newest", "middle"]
    assert first["previous"] is None
    second = api_client.get(first["next"]).json()
    assert [item["slug"] for item in second["results"]] == ["oldest"]
    assert second["next"] is None


@pytest.mark.parametrize(("query", "status"), [
    ("page=0", 404), ("page=%00", 404), ("page=99999999999999999999", 404), ("page=-1", 404),
    ("category=%00", 400), ("tag=%3Cscript%3E", 400), ("tag=a%00b", 400), ("category=" + "x" * 5000, 200),
    ("ordering=foo", 200), ("ordering=%00", 200), ("page_size=%00", 200), ("page_size=99999999999999999999", 200),
    ("page_size=-5", 200), ("unknown=1", 200),
])
def test_hostile_list_parameters_get_a_clear_answer(api_client, blog, query, status):
    response = api_client.get(f"/api/posts?{query}")
    if status == 200:
        assert response.status_code == 200
        assert set(response.json()) == {"count", "next", "previous", "results"}
    else:
        error_of(response, status)


def test_a_bad_filter_names_the_parameter(api_client, blog):
    error = error_of(api_client.get("/api/posts?tag=%3Cscript%3E"), 400, "invalid")
    assert list(error["fields"]) == ["tag"]


@pytest.mark.parametrize("path", ["/api/posts/a%00b", "/api/posts/%00", "/api/posts/%3Cscript%3E", "/api/posts/a/b"])
def test_hostile_slugs_are_not_found(api_client, blog, path):
    error_of(api_client.get(path), 404, "not_found")


def test_search_keeps_its_route(api_client, blog):
    response = api_client.get("/api/posts/search?q=")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "results": []}


def test_a_page_costs_the_same_queries_however_many_posts_and_tags(api_client, django_assert_max_num_queries):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get("/api/posts").status_code == 200
        return len(captured)

    _post("first", tags=["a", "b"], category=Category.objects.create(name="One", slug="one"))
    few = queries_for_list()
    for number in range(15):
        _post(f"post-{number}", hours_ago=2 + number, tags=[f"t{number}", "a", "b"],
              category=Category.objects.create(name=f"C{number}", slug=f"c{number}"))
    assert queries_for_list() == few
    # The database cache's throttle entry (read, count, savepoint, read, write, release) plus
    # count, page and tags; the post and its tags for one post.
    with django_assert_max_num_queries(6 + 3):
        api_client.get("/api/posts")
    with django_assert_max_num_queries(6 + 2):
        api_client.get("/api/posts/post-3")


# --- Throttle -------------------------------------------------------------------------------

@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(PublicRateThrottle, "THROTTLE_RATES", {**PublicRateThrottle.THROTTLE_RATES,
                                                               "public": "2/minute"})


@pytest.mark.parametrize("path", ["/api/posts", "/api/posts/oldest", "/api/posts/search?q=old"])
def test_anonymous_clients_are_throttled_with_retry_after(api_client, blog, two_per_minute, path):
    assert [api_client.get(path).status_code for _ in range(2)] == [200, 200]
    response = api_client.get(path)
    error_of(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert api_client.get(path, REMOTE_ADDR="192.0.2.7").status_code == 200  # another address has its own budget


def test_the_public_endpoints_share_one_budget_per_address(api_client, blog, two_per_minute):
    assert api_client.get("/api/posts").status_code == 200
    assert api_client.get("/api/posts/oldest").status_code == 200
    error_of(api_client.get("/api/posts/search?q=old"), 429, "throttled")


def test_a_signed_in_editor_is_throttled_like_any_reader(blog, editor, two_per_minute):
    client = Client()
    client.force_login(editor)
    assert [client.get("/api/posts").status_code for _ in range(3)] == [200, 200, 429]


def test_editorial_endpoints_do_not_use_the_public_budget(editor_client, blog, two_per_minute):
    assert [editor_client.get("/api/tasks").status_code for _ in range(3)] == [200, 200, 200]


# --- CORS -----------------------------------------------------------------------------------

@pytest.fixture
def cors_app(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


@pytest.mark.parametrize("path", ["/api/posts", "/api/posts/oldest", "/api/posts/search?q=old"])
def test_a_configured_origin_may_read_the_public_endpoints(api_client, blog, cors_app, path):
    response = api_client.get(path, HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_allows_reads_only(api_client, cors_app):
    response = api_client.options("/api/posts", HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"


def test_other_origins_get_no_cors_headers(api_client, blog, cors_app):
    response = api_client.get("/api/posts", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_no_cors_headers_by_default(api_client, blog, settings):
    settings.CORS_ALLOWED_ORIGINS = []  # the default: PRESSROOM_CORS_ALLOWED_ORIGINS unset
    response = api_client.get("/api/posts", HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize("path", ["/api/tasks", "/api/auth/token", "/", "/api/postsearch"])
def test_no_cors_headers_outside_the_public_posts_api(editor_client, cors_app, path):
    response = editor_client.get(path, HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response
    preflight = editor_client.options(path, HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in preflight


def _check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["ftp://app.example.com", "app.example.com", "https://app.example.com/",
                                   "https://app.example.com/path", "https://app.example.com:99999",
                                   "https://user@app.example.com", "https://"])
def test_a_malformed_origin_refuses_to_start(value):
    result = _check(PRESSROOM_CORS_ALLOWED_ORIGINS=f"https://ok.example.com, {value}")
    assert result.returncode != 0
    assert "PRESSROOM_CORS_ALLOWED_ORIGINS" in result.stderr
    assert f"{value!r} is not an origin" in result.stderr


def test_well_formed_origins_start():
    result = _check(PRESSROOM_CORS_ALLOWED_ORIGINS="https://app.example.com, http://localhost:5173")
    assert result.returncode == 0, result.stderr


# --- Schema ---------------------------------------------------------------------------------

def test_the_schema_describes_the_public_endpoints(editor_client):
    schema = editor_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["paths"]["/api/posts/"]["get"]
    assert {"category", "tag", "ordering", "page", "page_size"} <= {param["name"] for param in listing["parameters"]}
    assert {"200", "400", "404", "429"} <= set(listing["responses"])
    detail = schema["paths"]["/api/posts/{slug}/"]["get"]
    assert {"200", "404", "429"} <= set(detail["responses"])
    components = schema["components"]["schemas"]
    assert SUMMARY_FIELDS <= set(components["PostSummaryOutput"]["properties"])
    assert {"body_html", "sources", "meta_description"} <= set(components["PostDetailOutput"]["properties"])
    assert "count" in components["PaginatedPostSummaryOutputList"]["properties"]
