"""Publishing verbs: publish now or scheduled, republish in place, unpublish, revoke, hand-written posts."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.utils import timezone

from content.exceptions import PermissionDenied
from content.models import ApprovalEvent
from content.selectors import current_version
from content.services.review import task_approve, task_edit_draft, task_revoke_approval
from content.services.versions import version_create
from publishing.models import Category, Post, PostChange
from publishing.selectors import carried_versions, publish_actions
from publishing.services import posts as post_services
from publishing.services.posts import (
    post_delete_by_person,
    post_save_by_person,
    record_due_publications,
    task_publish,
    task_unpublish,
)
from tasks.exceptions import DomainError, InvalidTransition
from tasks.models import TaskEvent
from tests.editorial import completed_task


@pytest.fixture
def approved(editor, reviewer):
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    task.refresh_from_db()
    return task


def decisions(task):
    return list(ApprovalEvent.objects.filter(task=task).order_by("created_at").values_list("decision", flat=True))


def test_publish_copies_the_approved_version_into_a_public_post(approved, reviewer):
    post = task_publish(task=approved, by=reviewer)
    version = current_version(approved)
    assert post.is_public and post.live_recorded_at is not None
    assert (post.title, post.slug, post.body, post.excerpt, post.version, post.task) == (
        version.title, "composting-at-home", version.body, version.excerpt, version, approved)
    assert post.body_html == "<p>Composting turns kitchen scraps into soil.</p>"
    assert post.seo["seo_title"] == version.title and post.sources == version.sources
    assert post.category == Category.objects.get(name="Gardening")
    assert sorted(post.tags.values_list("name", flat=True)) == ["compost", "soil"]
    assert decisions(approved) == ["approved", "published"]
    event = TaskEvent.objects.filter(task=approved).order_by("-sequence").first()
    assert (event.kind, event.data["slug"]) == ("publication", "composting-at-home")


def test_publish_copies_the_featured_image_with_its_credit(editor, reviewer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    task = completed_task(created_by=editor)
    base = current_version(task)
    from content.providers.base import Image

    version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                   image=Image(content=b"\x89PNG fake", content_type="image/png", width=1200, height=630,
                               alt="A compost heap", credit="Photo by Ann on Pexels",
                               credit_url="https://www.pexels.com/@ann"))
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert post.featured_image.name.startswith("posts/") and post.featured_image.read() == b"\x89PNG fake"
    assert (post.image_alt, post.image_credit, post.image_credit_url) == (
        "A compost heap", "Photo by Ann on Pexels", "https://www.pexels.com/@ann")


def test_private_pasted_notes_are_not_listed_as_a_source(editor, reviewer):
    task = completed_task(created_by=editor)
    base = current_version(task)
    version_create(task=task, phase="restore", title=base.title, body=base.body, body_html=base.body_html,
                   sources=[{"number": 1, "title": "Editor's notes", "url": "", "quote": "", "kind": "pasted"},
                            {"number": 2, "title": "Guide", "url": "https://example.org", "quote": "", "kind": "web"}])
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer)
    assert [source["title"] for source in post.sources] == ["Guide"]


def test_sources_that_cannot_be_read_as_sources_are_left_out_of_the_post(editor, reviewer, client):
    # Stored JSON may hold anything: each of these made Source(**entry) raise at publication (a 500).
    task = completed_task(created_by=editor)
    base = current_version(task)
    guide = {"number": 2, "title": "Guide", "url": "https://example.org", "quote": "", "kind": "web"}
    version_create(task=task, phase="restore", title=base.title, body=base.body + " [2]", body_html=base.body_html,
                   sources=["https://example.org", 5, None, {"number": [1], "title": "List"}, {"title": "No number"},
                            {"number": "9" * 5000, "title": "Long"}, {**guide, "extra": 1}])
    task_approve(task=task, by=reviewer)

    post = task_publish(task=task, by=reviewer)

    assert [source.get("title") for source in post.sources] == ["No number", "Guide"]  # number 0, and a source
    assert client.get(f"/posts/{post.slug}/").status_code == 200


def test_editor_cannot_publish(approved, editor):
    with pytest.raises(PermissionDenied):
        task_publish(task=approved, by=editor)
    assert not Post.objects.exists()
    assert publish_actions(editor, approved) == []


def test_publishing_needs_an_approval(editor, reviewer):
    task = completed_task(created_by=editor)
    with pytest.raises(InvalidTransition, match="approved"):
        task_publish(task=task, by=reviewer)
    assert publish_actions(reviewer, task) == []


def test_publishing_the_same_version_twice_is_refused(approved, reviewer):
    task_publish(task=approved, by=reviewer)
    with pytest.raises(InvalidTransition, match="already published"):
        task_publish(task=approved, by=reviewer)
    assert publish_actions(reviewer, approved) == ["unpublish"]


def test_republish_after_a_newer_approved_version_updates_the_same_post(approved, editor, reviewer):
    first = task_publish(task=approved, by=reviewer)
    edited = task_edit_draft(task=approved, by=editor, title="Composting in a small flat")
    approved.refresh_from_db()
    assert Post.objects.get().title == "Composting at home", "the public post keeps the approved text"
    task_approve(task=approved, by=reviewer)
    again = task_publish(task=approved, by=reviewer)
    assert (again.pk, again.slug, again.get_absolute_url()) == (first.pk, first.slug, first.get_absolute_url())
    assert (again.title, again.version) == ("Composting in a small flat", edited)
    assert [row["number"] for row in carried_versions(again)] == [3, edited.number]
    assert Post.objects.count() == 1
    assert again.published_at == first.published_at and again.updated_at > first.updated_at  # a correction


def test_a_post_published_again_after_unpublishing_gets_a_new_date(approved, editor, reviewer):
    first = task_publish(task=approved, by=reviewer)
    task_unpublish(task=approved, by=reviewer, reason="Checking a figure")
    task_edit_draft(task=approved, by=editor, title="Composting in a small flat")
    task_approve(task=approved, by=reviewer)
    again = task_publish(task=approved, by=reviewer)
    assert again.published_at > first.published_at and again.is_public


def test_scheduled_post_is_invisible_until_its_time_and_recorded_once(approved, reviewer):
    at = timezone.now() + timedelta(hours=1)
    post = task_publish(task=approved, by=reviewer, at=at)
    assert post.is_scheduled and not Post.objects.published().exists()
    assert decisions(approved) == ["approved", "scheduled"]
    assert record_due_publications() == 0
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(seconds=1))  # time passes
    assert list(Post.objects.published()) == [post]
    assert record_due_publications() == 1
    assert record_due_publications() == 0
    assert decisions(approved) == ["approved", "scheduled", "published"]
    went_live = ApprovalEvent.objects.filter(task=approved).order_by("-created_at").first()
    assert went_live.actor == reviewer


def test_publish_time_without_timezone_is_refused(approved, reviewer):
    from tasks.exceptions import DomainError

    with pytest.raises(DomainError, match="time zone"):
        task_publish(task=approved, by=reviewer, at=timezone.now().replace(tzinfo=None))


def test_unpublish_takes_the_post_off_and_keeps_its_slug(approved, reviewer):
    post = task_publish(task=approved, by=reviewer)
    task_unpublish(task=approved, by=reviewer)
    post.refresh_from_db()
    assert post.published_at is None and not Post.objects.published().exists()
    assert decisions(approved) == ["approved", "published", "unpublished"]
    assert publish_actions(reviewer, approved) == ["publish", "schedule"]
    again = task_publish(task=approved, by=reviewer)
    assert again.slug == post.slug and again.is_public


@pytest.mark.parametrize("reason, message", [("x" * 5001, "too long"), ("bad\x00", "NUL")])
def test_an_unpublish_reason_the_audit_trail_cannot_keep_is_refused_and_the_post_stays_up(
        approved, reviewer, reason, message):
    """The admin form and the API hold the reason to FEEDBACK_MAX_LENGTH; the verb does too, for
    any other caller (a 2,000,000-character reason was kept in the append-only trail for good)."""
    post = task_publish(task=approved, by=reviewer)
    with pytest.raises(DomainError, match=message):
        task_unpublish(task=approved, by=reviewer, reason=reason)
    assert Post.objects.get(pk=post.pk).is_public
    assert decisions(approved) == ["approved", "published"]


def test_unpublishing_a_task_without_a_post_is_refused(approved, reviewer):
    with pytest.raises(InvalidTransition):
        task_unpublish(task=approved, by=reviewer)


def test_revoking_the_approval_of_a_published_task_unpublishes_its_post(approved, reviewer):
    task_publish(task=approved, by=reviewer)
    task_revoke_approval(task=approved, by=reviewer, feedback="A claim is wrong.")
    assert not Post.objects.published().exists()
    assert decisions(approved) == ["approved", "published", "approval_revoked", "unpublished"]


def test_a_post_from_a_task_cannot_be_changed_by_hand(approved, reviewer):
    post = task_publish(task=approved, by=reviewer)
    post.title = "Sneaky change"
    with pytest.raises(InvalidTransition, match="changes only through review"):
        post_save_by_person(post=post, by=reviewer, changed={"title"}, adding=False)
    assert Post.objects.get().title == "Composting at home"


def test_editor_may_write_a_hand_written_draft_but_not_publish_it(editor):
    post = Post(title="Notes from the newsroom", slug="newsroom", body="Hello **world**.")
    post_save_by_person(post=post, by=editor, changed={"title", "body"}, adding=True)
    assert PostChange.objects.get().kind == "created"
    post.published_at = timezone.now()
    with pytest.raises(PermissionDenied):
        post_save_by_person(post=post, by=editor, changed={"published_at"}, adding=False)
    assert Post.objects.get().published_at is None


@pytest.mark.parametrize("when", [timedelta(days=-1), timedelta(days=1)], ids=["public", "scheduled"])
def test_deleting_a_public_or_scheduled_hand_written_post_needs_the_publish_permission(editor, reviewer, when):
    post = Post(title="Notes", slug="notes", body="Hello.", published_at=timezone.now() + when)
    post_save_by_person(post=post, by=reviewer, changed={"title", "body", "published_at"}, adding=True)

    with pytest.raises(PermissionDenied, match="publish permission may delete a public or scheduled post"):
        post_delete_by_person(post=post, by=editor)
    assert Post.objects.filter(pk=post.pk).exists()
    post_delete_by_person(post=post, by=reviewer)
    assert not Post.objects.filter(pk=post.pk).exists()


def test_changing_a_public_hand_written_post_needs_the_publish_permission(editor, reviewer):
    post = Post(title="Notes", slug="notes", body="Hello.", published_at=timezone.now())
    post_save_by_person(post=post, by=reviewer, changed={"title", "body", "published_at"}, adding=True)
    post.body = "Changed."
    with pytest.raises(PermissionDenied):
        post_save_by_person(post=post, by=editor, changed={"body"}, adding=False)
    post_save_by_person(post=post, by=reviewer, changed={"body"}, adding=False)
    assert list(PostChange.objects.order_by("created_at").values_list("kind", "actor__username")) == [
        ("published", "reviewer1"), ("edited", "reviewer1")]
    assert Post.objects.get().body_html.strip() == "<p>Changed.</p>"


@pytest.mark.django_db
def test_a_post_is_never_given_the_slug_the_search_endpoint_uses():
    from publishing.services.posts import RESERVED_POST_SLUGS, _free_slug

    assert "search" in RESERVED_POST_SLUGS
    assert _free_slug(Post, "Search", 200, reserved=RESERVED_POST_SLUGS) == "search-2"


@pytest.mark.django_db
def test_a_free_slug_is_found_in_one_query_however_many_namesakes(django_assert_num_queries):
    from publishing.services.posts import _free_slug

    for slug in ["weekly", "weekly-2", "weekly-3", "weekly-5", "weekly-roundup", "weekly-2-notes"]:
        Post.objects.create(title=slug, slug=slug, body="x")
    with django_assert_num_queries(1):
        assert _free_slug(Post, "Weekly", 200) == "weekly-4"  # the first gap; other names do not count
    assert _free_slug(Post, "Weekly roundup", 200) == "weekly-roundup-2"
    assert _free_slug(Post, "Something new", 200) == "something-new"


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_the_same_title_published_at_once_get_two_slugs(editor, reviewer):
    # Two tasks with the same title, category and tags, published by two people at the same
    # moment: each allocates its slug (and the new category and tags) while the other does. Before,
    # both found "composting-at-home" free, and the second INSERT failed on the unique slug (a 500).
    import threading

    from django.db import connection

    tasks = [completed_task(created_by=editor) for _ in range(2)]
    for task in tasks:
        task_approve(task=task, by=reviewer)
    barrier = threading.Barrier(2)
    errors = []

    def publish(task):
        try:
            barrier.wait(timeout=10)
            task_publish(task=task, by=reviewer)
        except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(Post.objects.values_list("slug", flat=True)) == ["composting-at-home", "composting-at-home-2"]
    assert Category.objects.filter(name="Gardening").count() == 1
    assert all(post.category.name == "Gardening" for post in Post.objects.select_related("category"))


def test_a_time_past_year_9999_in_utc_is_refused_and_nothing_is_scheduled(approved, reviewer):
    from tasks.exceptions import DomainError

    at = datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt_timezone(-timedelta(hours=23, minutes=59)))
    with pytest.raises(DomainError, match="out of range"):
        task_publish(task=approved, by=reviewer, at=at)
    assert not Post.objects.filter(task=approved).exists()


@pytest.mark.parametrize("at", [lambda: timezone.now() + timedelta(days=36526),
                                lambda: datetime(9999, 12, 31, 23, 30, tzinfo=dt_timezone.utc)],
                         ids=["a-hundred-years-and-a-day", "late-on-31-december-9999"])
def test_a_time_more_than_a_hundred_years_ahead_is_refused_and_nothing_is_scheduled(approved, reviewer, settings, at):
    """Found by a date sweep: 9999-12-31T23:30Z (in range in UTC) was stored, and then every display
    in a zone east of UTC was year 10000: the API's task list answered 400 for good, the task
    page, the post list and the post page of the admin 500, whichever zone the site later used."""
    settings.TIME_ZONE = "Europe/Berlin"

    with pytest.raises(DomainError, match="100 years"):
        task_publish(task=approved, by=reviewer, at=at())
    assert not Post.objects.filter(task=approved).exists()


def test_a_time_just_under_a_hundred_years_ahead_is_scheduled(approved, reviewer):
    at = timezone.now() + timedelta(days=36524)

    post = task_publish(task=approved, by=reviewer, at=at)

    assert post.published_at == at and post.is_scheduled


def test_a_hand_written_post_whose_slug_was_taken_since_its_form_was_checked_is_refused(reviewer):
    # The form found the slug free; a publication took it before the save (both now choose slugs
    # under the publications' lock, so only one committed in between remains possible).
    from publishing.services.posts import post_save_by_person
    from tasks.exceptions import DomainError

    Post.objects.create(title="Taken", slug="taken", body="x")
    post = Post(title="Mine", slug="taken", body="Text.")

    with pytest.raises(DomainError, match="/posts/taken/ was taken meanwhile") as refused:
        post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body"}, adding=True)
    assert refused.value.fields == {"slug": ["Taken meanwhile."]}
    assert list(Post.objects.values_list("title", flat=True)) == ["Taken"]


def test_scheduling_a_new_version_of_a_live_post_is_refused_and_the_live_post_stays(approved, editor, reviewer,
                                                                                      client):
    """A post has one text and one publication time: scheduling a correction of a live post took the
    live article off the blog until then (found in a review). Publish now, or unpublish first."""
    post = task_publish(task=approved, by=reviewer)
    task_edit_draft(task=approved, by=editor, title="Composting in a small flat")
    task_approve(task=approved, by=reviewer)
    approved.refresh_from_db()
    assert publish_actions(reviewer, approved) == ["publish", "unpublish"]

    with pytest.raises(InvalidTransition, match="on the blog now: publish the new version now, or unpublish"):
        task_publish(task=approved, by=reviewer, at=timezone.now() + timedelta(days=2))

    assert client.get(f"/posts/{post.slug}/").status_code == 200
    assert Post.objects.get().title == "Composting at home"
    assert decisions(approved) == ["approved", "published", "edited", "approved"]
    task_unpublish(task=approved, by=reviewer, reason="Holding the correction")
    approved.refresh_from_db()
    assert "schedule" in publish_actions(reviewer, approved)
    assert task_publish(task=approved, by=reviewer, at=timezone.now() + timedelta(days=2)).is_scheduled


def test_an_editor_cannot_change_a_hand_written_post_a_publisher_scheduled(editor, reviewer):
    """It goes live by itself: an editor's change would publish text no publisher saw (found in a review)."""
    post = Post(title="Launch notes", slug="launch-notes", body="Reviewed text.",
                published_at=timezone.now() + timedelta(hours=1))
    post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body", "published_at"}, adding=True)
    post = Post.objects.get(pk=post.pk)
    post.body = "Text no publisher has seen."
    with pytest.raises(PermissionDenied, match="public or scheduled"):
        post_save_by_person(post=post, by=editor, changed={"body"}, adding=False)
    assert Post.objects.get(pk=post.pk).body == "Reviewed text."


@pytest.mark.parametrize("adding", [True, False])
def test_a_hand_written_post_cannot_take_the_slug_the_search_endpoint_uses(reviewer, adding):
    post = Post(title="Search tips", slug="search" if adding else "search-tips", body="How to search.")
    if not adding:
        post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body"}, adding=True)
        post.slug = "search"
    with pytest.raises(DomainError, match="reserved") as refused:
        post_save_by_person(post=post, by=reviewer, changed={"slug"} | ({"title", "body"} if adding else set()),
                            adding=adding)
    assert refused.value.fields == {"slug": ["Reserved: choose another."]}
    assert not Post.objects.filter(slug="search").exists()


@pytest.mark.django_db(transaction=True)
def test_unpublishing_while_the_go_live_sweep_records_the_same_post_does_not_deadlock(editor, reviewer, monkeypatch):
    """The sweep locked the post and then the task, every verb the task and then the post: the two
    at once deadlocked, and PostgreSQL failed one of them (found in a review)."""
    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    post = task_publish(task=task, by=reviewer, at=timezone.now() + timedelta(hours=1))
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(seconds=1))  # its time came

    task_locked, post_saved = threading.Event(), threading.Event()
    original_check, original_save = post_services.check_unpublish, Post.save

    def check_then_wait(user, task):
        original_check(user, task)  # the verb holds the task row now
        task_locked.set()
        post_saved.wait(3)

    def save_then_pause(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        if threading.current_thread().name == "sweep":
            post_saved.set()  # the sweep holds the post row; the old order asked for the task next
            time.sleep(0.5)

    monkeypatch.setattr(post_services, "check_unpublish", check_then_wait)
    monkeypatch.setattr(Post, "save", save_then_pause)
    errors = {}

    def run(name, call):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors[name] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("unpublish", lambda: task_unpublish(task=task, by=reviewer, reason="x"))),
        threading.Thread(target=run, args=("sweep", lambda: (task_locked.wait(10), record_due_publications())),
                         name="sweep"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == {}
    assert Post.objects.get(pk=post.pk).published_at is None
    assert record_due_publications() == 0


def test_the_database_refuses_a_task_post_without_its_version_and_a_going_live_without_a_time(approved, reviewer):
    from django.db import IntegrityError, transaction

    post = task_publish(task=approved, by=reviewer)
    for change in ({"version": None}, {"published_at": None}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Post.objects.filter(pk=post.pk).update(**change)
    assert Post.objects.get(pk=post.pk).is_public


def test_a_hand_written_post_dated_out_of_range_in_utc_is_refused(reviewer):
    """Found in a review: the task verbs checked the year in UTC, hand-written posts did not; year 1
    entered east of UTC is year 0 in UTC, which Python cannot read back (every list with the post failed)."""
    east = dt_timezone(timedelta(hours=5))
    post = Post(title="Ancient", slug="ancient", body="Old.", published_at=datetime(1, 1, 1, 2, 0, tzinfo=east))
    with pytest.raises(DomainError, match="out of range"):
        post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body", "published_at"}, adding=True)
    assert not Post.objects.exists()


def test_checking_a_change_of_a_hand_written_post_reads_the_stored_post_once(editor, reviewer):
    from django.test.utils import CaptureQueriesContext

    from publishing.services.posts import check_post_change

    post = Post(title="Launch notes", slug="launch-notes", body="Text.", published_at=timezone.now() + timedelta(hours=1))
    post_save_by_person(post=post, by=reviewer, changed={"title", "slug", "body", "published_at"}, adding=True)
    editor.has_perm(post_services.PUBLISH_PERMISSION)  # its permissions are read (and kept) before
    post.body = "Changed."

    with CaptureQueriesContext(connection) as queries, pytest.raises(PermissionDenied, match="public or scheduled"):
        check_post_change(editor, post, changed={"body"}, adding=False)

    assert len([query for query in queries if '"publishing_post"' in query["sql"]]) == 1
