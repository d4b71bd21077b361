"""A model provider that hangs, answers garbage, or answers 500 for most of a minute.

The real blog_post pipeline runs in this process as a worker would (claim, run, and again when a
requeued task is due), its chat model the real OpenAI-compatible client talking to a local
server that speaks the protocol (tests/content/fake_servers). What each fault must end in is the
engine's retry policy:
- a hang is interrupted by the task's deadline: `timed_out`, not retried;
- a garbage stream (a chunk that is not JSON) is transient, like a dropped stream: the call is
  tried again and the task completes;
- HTTP 500s are transient: retried with backoff per call, then per run (up to
  `PRESSROOM_MAX_ATTEMPTS`), so an outage shorter than that budget ends with the task completed.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from content.providers.base import Brief
from tasks.models import TaskEvent
from tests.content.fake_servers import Fail, Hang, Malformed, OpenAIChatServer, Reply
from tests.content.test_pipeline import OUTLINE_JSON, fake_model, good_article
from tests.factories import submit_task
from tests.faults.checks import STAGES, assert_nothing_lost, work_until_final

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BRIEF = {"topic": "Heat pumps", "word_count": 300, "primary_keyword": "heat pump"}
OUTAGE_SECONDS = 45


def article() -> str:
    return good_article(Brief(topic=BRIEF["topic"], word_count=300, primary_keyword="heat pump"))


def test_a_hanging_provider_is_cut_off_by_the_deadline_and_the_task_times_out(pipeline, monkeypatch):
    with OpenAIChatServer(Hang(120)) as server:
        task = submit_task(**BRIEF, model=fake_model(server, monkeypatch), timeout_seconds=3)
        asked = time.monotonic()
        done = work_until_final(task, timeout=30)
        waited = time.monotonic() - asked
    assert done.error == "Timed out: the task ran past its 3s deadline (stage draft).", done.error
    assert_nothing_lost([task], status="timed_out")
    assert done.attempts == 1, "a deadline is final: not retried"
    print(f"\nhang: timed out after {waited:.1f}s (deadline 3s), attempts {done.attempts}")


def test_a_garbage_stream_is_transient_and_the_call_is_retried(pipeline, monkeypatch):
    with OpenAIChatServer(Malformed(), Reply(OUTLINE_JSON), Reply(article()), Reply("Solid piece.")) as server:
        task = submit_task(**BRIEF, model=fake_model(server, monkeypatch))
        done = work_until_final(task, timeout=60)
    assert_nothing_lost([task], status="completed", stages=STAGES)
    tries = [e.data.get("outcome") for e in TaskEvent.objects.filter(task=task, kind="log").order_by("sequence")
             if e.data.get("call") == "draft: outline"]
    assert tries == ["retry", "ok"], tries
    assert done.attempts == 1


class OutageChatServer(OpenAIChatServer):
    """Answers HTTP 500 to every request until `healthy_at` (time.monotonic()), then its script."""

    def __init__(self, *behaviours, healthy_at: float):
        super().__init__(*behaviours)
        self.healthy_at = healthy_at
        self.failed = 0

    def handle(self, exchange):
        if time.monotonic() < self.healthy_at:
            self.failed += 1
            self.fail(exchange, Fail(500, "The server had an error while processing your request."))
            return
        super().handle(exchange)


def test_a_provider_answering_500_for_45_seconds_is_outlasted_by_the_retries(pipeline, monkeypatch):
    # Backoff 4 s doubling (2–4, 4–8, 8–16 s per call; 2–4 then 4–8 s between runs): the tries of
    # three runs span at least 48 s, longer than the outage.
    pipeline.PRESSROOM_RETRY_BASE_SECONDS = 4
    pipeline.PRESSROOM_CALL_RETRIES = 3
    pipeline.PRESSROOM_MAX_ATTEMPTS = 3
    began = time.monotonic()
    with OutageChatServer(Reply(OUTLINE_JSON), Reply(article()), Reply("Solid piece."),
                          healthy_at=began + OUTAGE_SECONDS) as server:
        task = submit_task(**BRIEF, model=fake_model(server, monkeypatch))
        done = work_until_final(task, timeout=OUTAGE_SECONDS + 28)
    assert_nothing_lost([task], status="completed", stages=STAGES)
    assert done.attempts >= 2 and server.failed > pipeline.PRESSROOM_CALL_RETRIES + 1, (
        f"the outage outlasted one run's tries: {server.failed} failed calls, {done.attempts} runs")
    retried = TaskEvent.objects.filter(task=task, kind="log", data__outcome="retry").count()
    print(f"\n500s for {OUTAGE_SECONDS}s: {server.failed} failed calls, {retried} call retries, "
          f"{done.attempts} runs, completed {time.monotonic() - began:.1f}s after the outage began "
          f"({timezone.now():%H:%M:%S})")
