"""The SMTP backend's deadline: a mail server that drips an answer a byte at a time, each byte
inside the socket timeout, is cut off once the whole sending has taken the deadline, wherever it
drips (greeting, TLS handshake, the answer to the message), and the connection is closed. Each
server is a real one on 127.0.0.1 (`tests.config.smtp_server`)."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from config.smtp_deadline import DeadlineSMTPBackend, SMTPDeadlineExceeded
from tests.config.smtp_server import DrippingSMTPServer
from tests.config.test_settings import _manage


def backend(server: DrippingSMTPServer, **options) -> DeadlineSMTPBackend:
    # a step may take 2 s, more than the 0.05 s between two bytes: only the deadline ends a drip
    return DeadlineSMTPBackend(host="127.0.0.1", port=server.port, timeout=2, deadline=0.5, **options)


def email(connection) -> EmailMessage:
    return EmailMessage("Digest", "Three tasks await review.", "pressroom@example.com", ["ada@example.com"],
                        connection=connection)


@pytest.mark.parametrize(("drip_at", "options"), [
    ("greeting", {}),
    ("data", {}),
    ("tls", {"use_ssl": True}),
    ("starttls", {"use_tls": True}),
])
def test_a_server_dripping_its_answer_is_cut_off_at_the_deadline_and_the_connection_closed(drip_at, options):
    with DrippingSMTPServer(drip_at=drip_at) as server:
        sender = backend(server, **options)
        with pytest.raises(SMTPDeadlineExceeded, match=r"did not finish within 0\.5 s"):
            email(sender).send()
        assert server.done.wait(10)
    assert server.hung_up and server.dripped < server.drip_bytes, "the client hung up before the drip was over"
    assert (sender.connection, sender._partial_connection, sender._copies) == (None, None, [])


def test_a_connection_opened_before_sending_is_bounded_too():
    with DrippingSMTPServer(drip_at="data") as server:
        with backend(server) as sender:  # opened here, in a deadline of its own
            with pytest.raises(SMTPDeadlineExceeded):
                sender.send_messages([email(sender)])
        assert server.done.wait(10)
    assert server.hung_up and sender.connection is None


def test_a_prompt_server_gets_every_message_and_each_sending_its_own_deadline():
    with DrippingSMTPServer(drip_at=None) as server:
        sender = backend(server)
        assert sender.send_messages([email(sender), email(sender)]) == 2
        assert server.done.wait(10)
        server.done.clear()
        assert email(sender).send() == 1
        assert server.done.wait(10)
    assert len(server.messages) == 3 and b"Three tasks await review." in server.messages[0]
    assert not server.hung_up and sender._copies == []


def test_failing_silently_stays_silent_when_the_deadline_passes():
    with DrippingSMTPServer(drip_at="greeting") as server:
        sender = backend(server, fail_silently=True)
        assert email(sender).send() == 0
        assert server.done.wait(10)
    assert server.hung_up and (sender.connection, sender._copies) == (None, [])


def test_django_smtp_backend_named_in_the_environment_runs_with_the_deadline():
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.PRESSROOM_EMAIL_DEADLINE_SECONDS)"
    result = _manage("shell", "-c", code, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                     PRESSROOM_EMAIL_DEADLINE_SECONDS="45")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["config.smtp_deadline.DeadlineSMTPBackend", "45"]


@pytest.mark.parametrize("raw", ["0", "3601", "soon"])
def test_a_deadline_outside_its_range_stops_the_start_naming_the_variable(raw):
    result = _manage("check", PRESSROOM_EMAIL_DEADLINE_SECONDS=raw)
    assert result.returncode != 0 and "PRESSROOM_EMAIL_DEADLINE_SECONDS must be" in result.stderr
