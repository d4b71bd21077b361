"""Generated HTML is inert everywhere: what a model, a fetched page or an image source returns can
run no script on any page, feed or API answer.

A real pipeline runs in-process: the chat model (a local OpenAI-compatible server) answers with a
title, outline and article full of markup — `<script>`, `<img onerror>`, `javascript:` and `data:`
links, `<iframe>`, `<svg onload>`, `<style>`, quotes that would break out of an attribute — the
research source is a local page whose title carries the same, and the image source (a local
Pexels) gives a hostile alt text, photographer and links. The piece is approved and published;
then every place that shows it is read as a browser would (`tests.html_safety`): the post page, the
home, search, category and tag pages, the RSS and Atom feeds, the admin's task page, version
compare and version page, and `body_html` of the private and public API.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape

import pytest
from django.test import Client
from rest_framework.test import APIClient

from content.models import ContentVersion
from content.providers.base import Brief
from content.services.review import task_approve
from publishing.models import Post
from publishing.services.posts import task_publish
from tests.content.fake_servers import ARTICLE_HTML, OpenAIChatServer, Page, PageServer, PexelsServer, Reply
from tests.content.test_pipeline import (  # noqa: F401 (pipeline: a fixture)
    fake_model, good_article, pipeline, run_one,
)
from tests.factories import submit_task
from tests.html_safety import SCRIPTABLE_TAGS, URL_ATTRIBUTES, assert_inert, elements
from tests.security.actors import make_actors

PAYLOAD = (
    "<script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)></svg>"
    "<iframe src=\"javascript:alert(4)\"></iframe><style>body{display:none}</style>"
    "\"'><b onmouseover=alert(5)>x</b><a href=\"javascript:alert(6)\">a</a>"
)
MARKDOWN_PAYLOAD = "[link](javascript:alert(7)) [data](data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==)"
TITLE = f'Heat pumps {PAYLOAD}'
PAGE_SAFE_SCRIPT_TYPES = {"application/ld+json", "application/json"}


class HostilePexels(PexelsServer):
    def photo(self, index: int) -> dict:
        photo = super().photo(index)
        photo.update(alt=f"A heat pump {PAYLOAD}", photographer=f"Jane {PAYLOAD}",
                     photographer_url="javascript:alert(9)", url="javascript:alert(10)")
        return photo


def assert_page_inert(html: str, where: str) -> None:
    """A whole page: the only scripts are our own files and data blocks; nothing else can run."""
    for tag, attributes in elements(html):
        if tag == "script":
            src = attributes.get("src", "")
            assert src.startswith("/") and not src.startswith("//") or attributes.get("type") in PAGE_SAFE_SCRIPT_TYPES, \
                f"a script on {where}: {attributes}"
            continue
        # Our own templates use forms, <meta>, <link> and inline SVG charts and icons; an SVG can run
        # nothing without a script element or handler, which are refused here.
        assert tag not in SCRIPTABLE_TAGS - {"form", "meta", "link", "svg"}, f"<{tag}> on {where}"
        assert not (tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh"), where
        for name, value in attributes.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}> on {where}"
            if name in URL_ATTRIBUTES and ":" in value:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower().split(":", 1)[0]
                image_data = tag == "img" and value.startswith("data:image/")
                assert scheme in {"http", "https", "mailto"} or image_data, \
                    f"{name}={value!r} on <{tag}> on {where}"
    for block in re.findall(r"<script[^>]*type=\"application/(?:ld\+)?json\"[^>]*>(.*?)</script>", html, re.S):
        json.loads(block)  # a data block the payload did not break out of


HTML_IN_FEEDS = {"description", "{http://purl.org/rss/1.0/modules/content/}encoded",
                 "{http://www.w3.org/2005/Atom}summary", "{http://www.w3.org/2005/Atom}content"}


def assert_feed_inert(xml: str, where: str) -> None:
    """Every piece of HTML a feed carries (escaped, in the elements that hold HTML) is inert, and
    every link is http(s). Titles are plain text in RSS and Atom (`type="text"`), escaped as such."""
    for element in ET.fromstring(xml).iter():
        if element.tag in HTML_IN_FEEDS and element.text:
            try:
                assert_inert(element.text)
            except AssertionError as error:
                raise AssertionError(f"{element.tag} in {where}: {error}") from None
        if element.tag == "{http://www.w3.org/2005/Atom}title":
            assert element.get("type", "text") == "text", where
        for name in ("href", "url"):
            if name in element.attrib:
                assert element.attrib[name].startswith(("http://", "https://")), f"{element.attrib} in {where}"
        if element.tag in ("link", "guid", "{http://www.w3.org/2005/Atom}id") and element.text:
            assert element.text.startswith(("http://", "https://", "urn:uuid:")), f"{element.tag} in {where}"


@pytest.fixture
def published(pipeline, monkeypatch):  # noqa: F811
    """The hostile piece, written, approved and published; its task and post."""
    pipeline.PRESSROOM_FETCH_ALLOW_PRIVATE = True
    pipeline.PRESSROOM_QA_THRESHOLD = 0  # whatever the rubric says of it, the piece goes on to be published
    pipeline.PRESSROOM_IMAGE_PROVIDER = "pexels"
    monkeypatch.setenv("PEXELS_API_KEY", "pexels-key")
    users = make_actors()
    article = good_article(Brief(topic="Heat pumps", word_count=300, primary_keyword="heat pump"))
    article = f"# {TITLE}\n\n{PAYLOAD}\n\n{MARKDOWN_PAYLOAD}\n\n" + article.split("\n", 1)[1].replace(
        "## Conclusion", f"## Conclusion {PAYLOAD}\n\n{PAYLOAD} [1]")
    outline = json.dumps({"title": TITLE, "sections": ["How they work", f"What they cost {PAYLOAD}", "Living"]})
    source_page = re.sub(r"<title>.*?</title>", f"<title>{escape(TITLE)}</title>", ARTICLE_HTML)
    with PageServer() as pages, HostilePexels() as pexels, \
            OpenAIChatServer(Reply(outline), *[Reply(article), Reply(f"Fine. {PAYLOAD}")] * 4) as chat:
        pipeline.PRESSROOM_PEXELS_URL = f"{pexels.url}/v1"
        url = pages.add("/hostile", Page(body=source_page))
        task = submit_task(created_by=users["editor"], topic="Heat pumps", word_count=300,
                           primary_keyword="heat pump", category="Energy", tags=["heat"],
                           model=fake_model(chat, monkeypatch), metadata={"research": {"urls": [url]}})
        done = run_one()
    assert done.status == "completed", done.error
    final = ContentVersion.objects.get(task=task, phase="format")
    assert "alert(1)" in final.body and final.image, "the payload reached the formatted piece, with an image"
    assert any("alert" in source.get("title", "") for source in final.sources), final.sources
    task_approve(task=done, by=users["reviewer"])
    post = task_publish(task=done, by=users["reviewer"])
    return users, done, post


def test_blog_pages_and_feeds_show_hostile_output_inert(published):
    _, task, post = published
    assert "alert" in post.title and "alert" in post.image_alt + post.image_credit
    client = Client()
    category, tag = post.category.slug, post.tags.first().slug
    for path in [post.get_absolute_url(), "/", "/search/?q=heat", f"/category/{category}/", f"/tag/{tag}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_inert(response.content.decode(), path)
    for path in ["/feeds/rss/", "/feeds/atom/", f"/category/{category}/feeds/rss/", f"/tag/{tag}/feeds/atom/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_feed_inert(response.content.decode(), path)


def test_admin_pages_show_hostile_output_inert(published):
    users, task, _ = published
    client = Client()
    client.force_login(users["reviewer"])
    current = task.versions.latest("number")
    for path in [f"/admin/tasks/generationtask/{task.pk}/change/", f"/admin/tasks/generationtask/{task.pk}/diff/",
                 f"/admin/tasks/generationtask/{task.pk}/diff/?a=2&b={current.number}",
                 f"/admin/content/contentversion/{current.pk}/change/", "/admin/tasks/generationtask/",
                 "/admin/publishing/post/", f"/admin/publishing/post/{Post.objects.get(task=task).pk}/change/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_inert(response.content.decode(), path)


def test_api_body_html_is_sanitised(published):
    users, task, post = published
    private = APIClient()
    private.force_authenticate(users["editor"])
    for version in task.versions.all():
        body = private.get(f"/api/tasks/{task.pk}/versions/{version.number}").json()
        assert_inert(body.get("body_html") or "")
    public = APIClient().get(f"/api/posts/{post.slug}").json()
    assert "alert" in public["title"]  # the title is text, for the client to escape...
    assert_inert(public["body_html"])  # ...the HTML is safe to insert as it is
    for source in public["sources"]:
        assert source["url"].startswith(("http://", "https://")), source
    image = public["featured_image"]
    assert not image["credit_url"] or image["credit_url"].startswith(("http://", "https://")), image
