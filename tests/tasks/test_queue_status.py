import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tasks.models import GenerationTask
from tests.clocks import SKEW, clock_off_by, database_now
from tests.factories import make_task

pytestmark = pytest.mark.django_db


def _queue():
    now = timezone.now()
    make_task(priority=5, title="urgent one")
    make_task(priority=5)
    old = make_task(priority=0)
    GenerationTask.objects.filter(pk=old.pk).update(created_at=now - timedelta(minutes=30))
    make_task(status="running", worker="host:1:abc", heartbeat_at=now - timedelta(seconds=12), phase="draft",
              progress=40, attempts=1, title="in flight")
    make_task(status="failed", finished_at=now - timedelta(hours=2), error="The API key was rejected (HTTP 401).")
    make_task(status="failed", finished_at=now - timedelta(days=2), error="old failure")
    make_task(status="timed_out", finished_at=now - timedelta(hours=1), error="Timed out: 900s")


def test_queue_status_prints_depth_running_and_recent_failures(capsys):
    _queue()
    call_command("queue_status")
    out = capsys.readouterr().out
    assert "Tasks by status: queued 3, running 1, completed 0, failed 2, cancelled 0, timed_out 1" in out
    assert "Queued by priority: p5: 2, p0: 1" in out
    assert "oldest queued task waiting 30m" in out
    assert "worker host:1:abc  heartbeat 12s ago" in out and "draft" in out
    assert "Failed or timed out in the last 24 h: 2" in out
    assert "The API key was rejected (HTTP 401)." in out and "old failure" not in out


def test_queue_status_as_json(capsys):
    _queue()
    call_command("queue_status", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["by_status"]["queued"] == 3
    assert data["queued_by_priority"] == {"5": 2, "0": 1}
    assert data["running"][0]["worker"] == "host:1:abc"
    assert data["failures_24h_count"] == 2


def test_control_characters_in_a_title_or_error_are_printed_escaped_not_sent_to_the_terminal(capsys):
    now = timezone.now()
    make_task(status="running", worker="host:1:abc", heartbeat_at=now, phase="draft",
              title="Fine\x1b[2J\x1b[HQueue empty\r\x9b31m\x07")
    make_task(status="failed", finished_at=now, error="Refused\x1b]0;owned\x07\nForged line\x7f")

    call_command("queue_status")
    out = capsys.readouterr().out

    assert not any(char in out for char in "\x1b\x07\x9b\x7f\r")
    assert "Fine\\x1b[2J\\x1b[HQueue empty\\r\\x9b31m\\x07" in out
    assert "Refused\\x1b]0;owned\\x07\\nForged line\\x7f" in out


def test_characters_that_reorder_the_text_around_them_are_printed_escaped(capsys):
    """U+202E in a provider's error would show the rest of the line backwards on the terminal."""
    make_task(status="failed", finished_at=timezone.now(), error="Quota left: \u202e0001 USD\u202c")

    call_command("queue_status")
    out = capsys.readouterr().out

    assert "\u202e" not in out and "\u202c" not in out
    assert "Quota left: \\u202e0001 USD\\u202c" in out


def test_a_title_the_terminal_cannot_encode_is_printed_escaped_not_a_crash():
    """On an ASCII or Latin-1 terminal (PYTHONIOENCODING=ascii, LANG=…ISO-8859-1) a title in
    Chinese, or the dash of an empty queue's age, stopped the command with UnicodeEncodeError."""
    make_task(status="running", worker="host:1:abc", heartbeat_at=timezone.now(), phase="draft", title="中文 brief")
    terminal = io.TextIOWrapper(io.BytesIO(), encoding="ascii")

    call_command("queue_status", stdout=terminal)
    terminal.flush()
    out = terminal.buffer.getvalue().decode("ascii")

    assert "\\u4e2d\\u6587 brief" in out
    assert "oldest queued task waiting \\u2014" in out


@pytest.mark.parametrize("skew", [+SKEW, -SKEW])
def test_queue_status_measures_ages_and_due_tasks_on_the_database_s_clock(capsys, skew):
    """An operator runs the command on any machine: one whose clock was two minutes ahead showed a
    worker that beat a second ago as "heartbeat 2m ago", as if lost, and one behind counted a task
    due now as not due yet."""
    make_task(status="running", worker="host:1:abc", heartbeat_at=database_now(), phase="draft", attempts=1)
    GenerationTask.objects.filter(pk=make_task().pk).update(available_at=database_now(),
                                                            created_at=database_now())
    with clock_off_by(skew):
        call_command("queue_status", "--json")
    shown = json.loads(capsys.readouterr().out)
    assert shown["queued_due"] == 1
    assert shown["running"][0]["heartbeat_age"] < 30
    assert shown["oldest_queued_age"] < 30
