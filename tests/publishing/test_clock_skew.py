"""Scheduled posts go live by the database's clock, whatever the web servers' and workers' clocks say.

A post scheduled for 12:00 is on the blog (and its going live recorded, which tells webhook
subscribers and reviewers) once the database server's clock says 12:00: a web process or worker
whose own clock is two minutes off (`tests.clocks.clock_off_by`) neither shows nor announces it
two minutes early, nor leaves it off the blog after its time.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches

from publishing import caching
from publishing.models import Post
from publishing.services.posts import record_due_publications
from tests.publishing.page_caches import PAGE_CACHES, fresh_page_cache  # noqa: F401 (autouse)
from tests.clocks import SKEW, clock_off_by, database_now

pytestmark = pytest.mark.django_db



def post_due_in(seconds: float, slug: str = "skewed") -> Post:
    """A hand-written post scheduled `seconds` from now on the database's clock (before, if negative)."""
    return Post.objects.create(title=f"The {slug} piece", slug=slug,
                               published_at=database_now() + timedelta(seconds=seconds))


def test_a_worker_whose_clock_is_ahead_does_not_record_a_post_live_before_its_time():
    post = post_due_in(60)
    with clock_off_by(+SKEW):
        assert record_due_publications() == 0
    post.refresh_from_db()
    assert post.live_recorded_at is None


def test_a_worker_whose_clock_is_behind_records_a_post_live_once_its_time_has_come():
    post = post_due_in(-5)
    with clock_off_by(-SKEW):
        assert record_due_publications() == 1
    post.refresh_from_db()
    assert post.live_recorded_at is not None


def test_a_web_process_whose_clock_is_ahead_shows_no_post_before_its_time(client):
    post = post_due_in(60)
    with clock_off_by(+SKEW):
        assert post.title not in client.get("/").content.decode()
        assert client.get(f"/posts/{post.slug}/").status_code == 404
        assert client.get(f"/api/posts/{post.slug}/").status_code == 404


def test_a_web_process_whose_clock_is_behind_shows_a_post_once_its_time_has_come(client):
    post = post_due_in(-5)
    with clock_off_by(-SKEW):
        assert post.title in client.get("/").content.decode()
        assert client.get(f"/posts/{post.slug}/").status_code == 200


def test_a_web_process_whose_clock_is_ahead_neither_churns_the_blog_version_nor_hides_the_post_later(client):
    """The shared blog version names the next scheduled publication. A process whose clock is
    ahead started a new version at what it took for the post's time: built from its own clock,
    that version no longer waited for the post, so a process on time that rendered the front page
    just before the post's time kept serving it without the post, and answered a CDN's
    revalidation with 304, until something else changed on the blog."""
    post = post_due_in(2)
    before = caching.blog_version()["token"]
    with clock_off_by(+SKEW):  # a web process two minutes ahead serves a reader
        client.get("/")
        assert caching.blog_version()["token"] == before, "nothing changed on the database's clock"
    for alias in PAGE_CACHES:  # another web process, on time, serves the front page before the post's time
        caches[alias].clear()
    assert post.title not in client.get("/").content.decode()
    time.sleep(max(0.0, (post.published_at - database_now()).total_seconds()) + 0.5)
    assert post.title in client.get("/").content.decode()


# --- "publish now" --------------------------------------------------------------------------------
# Now is the database's now, the clock the blog judges visibility by: a web process whose clock
# was ahead stored its own now, and the post it had just published stayed off the blog that long.

@pytest.fixture
def approved(editor, reviewer):
    from content.services.review import task_approve
    from tests.editorial import completed_task

    task = completed_task(created_by=editor)
    task_approve(task=task, by=reviewer)
    return task


def assert_on_the_blog(client, post: Post) -> None:
    assert client.get(f"/posts/{post.slug}/").status_code == 200
    assert post.title in client.get("/").content.decode()
    assert abs((post.published_at - database_now()).total_seconds()) < 5


def test_a_post_published_now_through_the_api_by_a_web_process_whose_clock_is_ahead_is_on_the_blog_at_once(
        approved, reviewer, client):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(reviewer)
    with clock_off_by(+SKEW):
        response = api.post(f"/api/tasks/{approved.pk}/publish")
    assert response.status_code == 200, response.content
    assert_on_the_blog(client, Post.objects.get(task=approved))


def test_a_post_published_now_on_the_task_page_by_a_web_process_whose_clock_is_ahead_is_on_the_blog_at_once(
        approved, reviewer, client):
    from django.urls import reverse

    from tests.tasks.admin_support import client_for

    with clock_off_by(+SKEW):
        response = client_for(reviewer).post(reverse("admin:tasks_generationtask_action",
                                                     args=[approved.pk, "publish"]))
    assert response.status_code == 302, response.content
    assert_on_the_blog(client, Post.objects.get(task=approved))


def test_a_time_given_a_minute_ahead_to_a_web_process_whose_clock_is_two_minutes_ahead_is_scheduled_as_given(
        approved, reviewer, client):
    from publishing.services.posts import task_publish

    at = database_now() + timedelta(seconds=60)
    with clock_off_by(+SKEW):
        post = task_publish(task=approved, by=reviewer, at=at)
    post.refresh_from_db()
    assert (post.published_at, post.live_recorded_at) == (at, None)
    assert client.get(f"/posts/{post.slug}/").status_code == 404


# --- webhook retries and their recovery sweep -----------------------------------------------------
# A retry longer than a job may wait is a django-q2 one-off schedule, which the scheduler of any
# cluster fires once `next_run` has passed by its own machine's clock.

SWEEP_SKEW = 400  # seconds: past the sweep's patience (5 minutes, plus twice the timeout)


@pytest.fixture
def refusing_receiver(settings, enqueued):
    """A subscription whose receiver refuses connections, and retries a minute apart."""
    from publishing.webhooks.models import WebhookSubscription

    settings.PRESSROOM_FETCH_ALLOW_PRIVATE = True
    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 60
    return WebhookSubscription.objects.create(name="Down", url="http://127.0.0.1:1/", events=["task.completed"],
                                              secret="whsec_test-secret-of-some-length")


def first_attempt(subscription):
    from publishing.webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.create(subscription=subscription, event="task.completed", event_id="evt_skew",
                                          payload={"id": "evt_skew"}, scheduled_at=database_now())


def fire_due_schedules(monkeypatch) -> int:
    """What a cluster's scheduler does (`django_q.scheduler`), with this process's clock: the
    webhook jobs of the one-off schedules it finds due are run at once. How many it ran."""
    from django_q import scheduler as django_q_scheduler

    from publishing.webhooks import jobs

    fired = []

    def async_task(func, *args, **kwargs):
        fired.append((func, args, kwargs))
        return uuid.uuid4().hex  # a task id, as django-q2 makes them

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(django_q_scheduler, "async_task", async_task)
        patch.setattr(django_q_scheduler, "close_old_django_connections", lambda: None)  # the test's transaction
        django_q_scheduler.scheduler()
    deliveries = [(args, kwargs) for func, args, kwargs in fired if func == "publishing.webhooks.jobs.deliver_webhook"]
    for args, kwargs in deliveries:
        kwargs.pop("q_options")
        jobs.deliver_webhook(*args, **kwargs)
    return len(deliveries)


def test_a_retry_scheduled_by_a_worker_whose_clock_is_behind_waits_out_its_backoff(
        refusing_receiver, monkeypatch, django_capture_on_commit_callbacks):
    from publishing.webhooks.models import WebhookDelivery
    from publishing.webhooks.services import webhook_delivery_attempt

    with clock_off_by(-SKEW), django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_attempt(delivery_id=first_attempt(refusing_receiver).pk)
    retry = WebhookDelivery.objects.get(attempt=2)
    assert (retry.scheduled_at - database_now()).total_seconds() > 50
    with django_capture_on_commit_callbacks(execute=True):
        fire_due_schedules(monkeypatch)
    retry.refresh_from_db()
    assert (retry.status, retry.started_at) == ("pending", None), "not sent before its backoff"


def test_a_retry_fired_early_by_a_scheduler_whose_clock_is_ahead_waits_for_its_time(
        refusing_receiver, monkeypatch, django_capture_on_commit_callbacks):
    from django_q.models import Schedule

    from publishing.webhooks.models import WebhookDelivery
    from publishing.webhooks.services import webhook_delivery_attempt

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_attempt(delivery_id=first_attempt(refusing_receiver).pk)
    retry = WebhookDelivery.objects.get(attempt=2)
    with clock_off_by(+SKEW), django_capture_on_commit_callbacks(execute=True):
        assert fire_due_schedules(monkeypatch) == 1
    retry.refresh_from_db()
    assert (retry.status, retry.started_at) == ("pending", None), "not sent before its backoff"
    assert Schedule.objects.filter(func="publishing.webhooks.jobs.deliver_webhook", args=repr((retry.pk,))).exists(), \
        "left to a schedule again"


@pytest.mark.parametrize("sender_skew, sweep_skew", [(0, +SWEEP_SKEW), (-SWEEP_SKEW, 0)])
def test_an_attempt_in_flight_is_not_given_up_by_the_sweep_whatever_the_clocks(
        refusing_receiver, monkeypatch, sender_skew, sweep_skew):
    """The sweep records an attempt as failed when its worker stopped during it (started more than
    5 minutes and twice the timeout ago): for one still being sent, that meant a second delivery
    of the event and a failure counted against a receiver that answered."""
    from publishing.webhooks import services

    outcomes = []

    def send_while_the_sweep_runs(url, body, headers):
        with clock_off_by(sweep_skew - sender_skew):  # relative to the sender's clock, which is in force
            outcomes.append(services.webhook_deliveries_recover())
        return services.SendResult(True, response_code=200)

    monkeypatch.setattr(services, "_post", send_while_the_sweep_runs)
    with clock_off_by(sender_skew):
        delivery = services.webhook_delivery_attempt(delivery_id=first_attempt(refusing_receiver).pk)
    assert outcomes == [{"sent": 0, "abandoned": 0}]
    assert delivery.status == "succeeded"


def test_a_sweep_whose_clock_is_ahead_sends_no_retry_before_its_time(refusing_receiver):
    from publishing.webhooks.models import WebhookDelivery
    from publishing.webhooks.services import webhook_deliveries_recover

    retry = WebhookDelivery.objects.create(subscription=refusing_receiver, event="task.completed", event_id="evt_r",
                                           payload={}, attempt=2, scheduled_at=database_now() + timedelta(seconds=60))
    with clock_off_by(+SWEEP_SKEW):
        assert webhook_deliveries_recover()["sent"] == 0
    retry.refresh_from_db()
    assert retry.started_at is None


def test_a_short_retry_run_by_a_worker_whose_clock_is_ahead_is_not_sent_before_its_time(
        refusing_receiver, enqueued, settings, django_capture_on_commit_callbacks):
    """A retry due within WAIT_IN_JOB_MAX_SECONDS goes to the broker at once and its job waits.
    Measured on the clock of the worker that runs it, a worker as far ahead of the one that
    failed the attempt as the backoff did not wait at all, and sent the retry that early."""
    from publishing.webhooks.jobs import deliver_webhook
    from publishing.webhooks.models import WebhookDelivery
    from publishing.webhooks.services import DELIVER_JOB, webhook_delivery_attempt

    settings.PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = 2
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_attempt(delivery_id=first_attempt(refusing_receiver).pk)
    retry = WebhookDelivery.objects.get(attempt=2)
    (_, args, kwargs), = [job for job in enqueued if job[0] == DELIVER_JOB and job[1] == (retry.pk,)]
    kwargs.pop("q_options")
    with clock_off_by(+SKEW), django_capture_on_commit_callbacks(execute=True):
        deliver_webhook(*args, **kwargs)
    retry.refresh_from_db()
    assert retry.started_at is not None, "sent by its job"
    assert retry.started_at >= retry.scheduled_at, "not sent before its backoff"


def test_the_job_of_an_attempt_queued_by_a_process_whose_clock_is_ahead_is_seen_by_a_cluster_at_once(
        monkeypatch, django_capture_on_commit_callbacks):
    """With the ORM broker (no Redis), a job is a row that a cluster takes once its `lock` is past
    by the cluster's own clock; django-q2's own broker stamps it with the sender's clock, so the
    first attempt of an event recorded by a worker or web process ahead stayed invisible that long."""
    from django_q.brokers.orm import ORM
    from django_q.conf import Conf

    from publishing.webhooks.models import WebhookSubscription
    from publishing.webhooks.services import webhook_deliveries_create
    from tasks.services.queue import enqueue_broker

    WebhookSubscription.objects.create(name="Receiver", url="https://hooks.example.com/in", events=["task.completed"],
                                       secret="whsec_test-secret-of-some-length")
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "POLL", 0)
    enqueue_broker.cache_clear()
    payload = {"kind": "status", "status": "completed", "task": str(uuid.uuid4()), "sequence": 7,
               "created_at": database_now().isoformat(), "message": "Completed."}
    try:
        with clock_off_by(+SKEW), django_capture_on_commit_callbacks(execute=True):
            assert len(webhook_deliveries_create(payload=payload)) == 1
        assert ORM(list_key=Conf.CLUSTER_NAME).dequeue(), "no delivery job for the cluster"
    finally:
        enqueue_broker.cache_clear()


@pytest.mark.parametrize("skew, ahead, scheduled", [(+SKEW, 90, True), (-SKEW, -30, False)])
def test_the_task_page_s_schedule_form_tells_past_from_future_on_the_database_s_clock(
        approved, reviewer, skew, ahead, scheduled):
    """A time a minute and a half ahead, typed on a page served by a web process two minutes ahead,
    was refused as past; one half a minute back, on a process two minutes behind, was taken as
    future and published at once, with "Scheduled for …" on the page: now it is refused as past."""
    from django.urls import reverse
    from django.utils import timezone

    from tests.tasks.admin_support import client_for

    # Whole minutes, as the form reads them: 30-90 s ahead of the database's clock, or back.
    at = timezone.localtime(database_now() + timedelta(seconds=ahead)).replace(second=0, microsecond=0)
    with clock_off_by(skew):
        response = client_for(reviewer).post(reverse("admin:tasks_generationtask_action", args=[approved.pk, "schedule"]),
                                             {"schedule-at": at.strftime("%Y-%m-%dT%H:%M")})
    if scheduled:
        assert response.status_code == 302, response.content
        assert Post.objects.filter(task=approved, published_at=at).exists()
    else:  # refused as past, nothing published
        assert "Choose a time in the future, or publish now." in response.content.decode()
        assert not Post.objects.filter(task=approved).exists()


@pytest.mark.parametrize("skew, ahead, kind", [(+SKEW, 60, "scheduled"), (-SKEW, -30, "published")])
def test_a_hand_written_post_saved_by_a_web_process_whose_clock_is_off_is_recorded_as_scheduled_or_live_by_the_database(
        reviewer, skew, ahead, kind):
    """A person's save of a hand-written post judged "already public" by the web process's clock: one
    two minutes ahead recorded a post due in a minute as published, and stamped it live, so the
    go-live sweep never recorded it going live at its time; one behind recorded a post already on
    the blog as scheduled."""
    from publishing.models import PostChange
    from publishing.services.posts import post_save_by_person

    post = Post(title="Notes from the newsroom", slug="newsroom", body="Hello.",
                published_at=database_now() + timedelta(seconds=ahead))
    with clock_off_by(skew):
        post_save_by_person(post=post, by=reviewer, changed={"title", "body", "published_at"}, adding=True)
    post.refresh_from_db()
    assert PostChange.objects.get(post=post).kind == kind
    assert (post.live_recorded_at is not None) is (kind == "published")
