"""The task WebSockets: who may connect (tokens, sessions, origins) and the close codes of a refusal.

The helpers and the fixtures every file here uses are in `tests/tasks/websocket_support.py`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import submit_task
from tests.tasks.websocket_support import (  # noqa: F401 (seeded, own_channel_layer: autouse fixtures)
    TIMEOUT, close_code, communicator, next_frame, opened, own_channel_layer, run, seeded, session_cookie, token_for
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_without_credentials_is_closed_with_4401(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        for path in ("/ws/tasks", f"/ws/tasks/{task.pk}"):
            ws = communicator(path)
            assert await ws.connect(timeout=TIMEOUT) == (True, None)
            assert await close_code(ws) == 4401
            await ws.disconnect()

    run(scenario)


def test_a_session_cookie_that_decodes_to_a_nul_is_no_session_and_closed_with_4401(editor):
    """Django's cookie parser turns a quoted `\\000` into a NUL, which no session key holds (it
    was a failed handshake: 1011, and a traceback in Daphne's log)."""
    task = submit_task(created_by=editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", headers=[(b"cookie", b'sessionid="\\000aaaaaaaaaaaa"')])
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("kind", ["garbage", "empty", "expired", "refresh", "bearer-garbage"])
def test_an_invalid_token_is_closed_with_4401_even_next_to_a_valid_session(editor, kind):
    task = submit_task(created_by=editor)
    expired = AccessToken.for_user(editor)
    expired.set_exp(lifetime=timedelta(seconds=-1))
    token, subprotocols = {
        "garbage": ("not.a.jwt", None),
        "empty": ("", None),
        "expired": (str(expired), None),
        "refresh": (str(RefreshToken.for_user(editor)), None),
        "bearer-garbage": (None, ["bearer", "not.a.jwt"]),
    }[kind]
    cookie = session_cookie(editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token, headers=[cookie], subprotocols=subprotocols)
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("claims", [{"user_id": "abc"}, {"user_id": ["1"]}, {"exp": 10**30}],
                         ids=["user_id-text", "user_id-list", "exp-past-year-9999"])
def test_a_signed_token_with_claims_of_the_wrong_kind_is_closed_with_4401(editor, claims):
    """As the API answers it with 401 (tests/config/test_authentication.py): the user id went to
    the id column's int() (a 1011 close) and the expiry to a datetime past year 9999 (a failed
    handshake, 500)."""
    task = submit_task(created_by=editor)
    token = AccessToken.for_user(editor)
    for name, value in claims.items():
        token[name] = value

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=str(token))
        connected, _ = await ws.connect(timeout=TIMEOUT)
        assert connected
        assert await close_code(ws) == 4401
        await ws.disconnect()

    run(scenario)


def test_an_access_token_in_the_query_string_authenticates(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}", editor)
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


def test_the_bearer_subprotocol_authenticates_and_is_the_accepted_subprotocol(editor):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", subprotocols=["bearer", token_for(editor)])
        assert await ws.connect(timeout=TIMEOUT) == (True, "bearer")
        assert (await next_frame(ws))["task"]["id"] == str(task.pk)
        await ws.disconnect()

    run(scenario)


def test_the_session_cookie_authenticates_without_a_token(editor):
    task = submit_task(created_by=editor)
    cookie = session_cookie(editor)

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", headers=[cookie])
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        assert (await next_frame(ws))["task"]["id"] == str(task.pk)
        await ws.disconnect()

    run(scenario)


def test_another_editors_task_is_closed_with_4404_like_a_missing_one(editor, other_editor, reviewer):
    """As the API answers 404 for both, the socket does not tell "not yours" from "no such task"."""
    task = submit_task(created_by=other_editor)

    async def scenario():
        codes = []
        for path in (f"/ws/tasks/{task.pk}", f"/ws/tasks/{uuid.uuid4()}"):
            ws = await opened(path, editor)
            codes.append(await close_code(ws))
            await ws.disconnect()
        assert codes == [4404, 4404]
        ws = await opened(f"/ws/tasks/{task.pk}", reviewer)  # reviewers see every task
        assert (await next_frame(ws))["type"] == "snapshot"
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("task_id", ["5f0c1a4e-8d2b-4c3e-9a7f-2b6d8e1c4a90", "not-a-uuid"])  # a UUID no task has
def test_an_unknown_or_malformed_task_id_is_closed_with_4404(editor, task_id):
    async def scenario():
        ws = await opened(f"/ws/tasks/{task_id}", editor)
        assert await close_code(ws) == 4404
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize("after", ["-1", "x", "", "1.5", "9" * 31, "9" * 5000], ids=["-1", "x", "empty", "1.5",
                                                                            "31-digits", "5000-digits"])
def test_a_malformed_after_parameter_is_closed_with_4400(editor, after):
    task = submit_task(created_by=editor)

    async def scenario():
        ws = await opened(f"/ws/tasks/{task.pk}?after={after}", editor)
        assert await close_code(ws) == 4400
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "host, allowed",
    [
        ("127.0.0.1:8000", True),
        (None, True),  # no Host header: let through, as Django falls back to the server's name
        ("localhost", True),
        ("[::1]:8000", True),
        ("evil.example:8000", False),  # DNS rebinding, or a client that did not mean this site
        ("127.0.0.1.evil.example", False),
        ("", False),
        ("127.0.0.1:port", False),
        ("h\u00f6st.example", False),
        ("x" * 8000, False),
    ],
    ids=["own", "none", "localhost", "ipv6", "other-host", "suffix", "empty", "bad-port", "non-ascii", "8000-chars"],
)
def test_the_handshake_is_refused_with_4400_for_a_host_not_in_allowed_hosts(editor, host, allowed, caplog):
    task = submit_task(created_by=editor)

    async def scenario():
        headers = [] if host is None else [(b"host", host.encode("latin-1"))]
        ws = communicator(f"/ws/tasks/{task.pk}", token=token_for(editor), headers=headers)
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        if allowed:
            assert (await next_frame(ws))["type"] == "snapshot"
        else:
            assert await close_code(ws) == 4400
        await ws.disconnect()

    run(scenario)
    refusals = [record.getMessage() for record in caplog.records if "refused: host" in record.getMessage()]
    assert len(refusals) == (0 if allowed else 1)
    assert all(len(message) < 400 for message in refusals)
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    "origin, host, allowed",
    [
        (None, "127.0.0.1:8000", True),  # not a browser: a script with a token
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),  # the socket's own origin
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False),  # other scheme
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # other port
        ("http://127.0.0.1", "127.0.0.1:8000", False),
        ("http://localhost:8000", "127.0.0.1:8000", False),  # other host, though in ALLOWED_HOSTS
        ("http://localhost", "localhost:80", True),  # the default port is no port
        ("http://[::1]:8000", "[::1]:8000", True),
        ("https://press.example.com", "127.0.0.1:8000", True),  # CSRF_TRUSTED_ORIGINS
        ("https://press.example.com:443", "127.0.0.1:8000", True),
        ("https://press.example.com:8443", "127.0.0.1:8000", False),
        ("http://press.example.com", "127.0.0.1:8000", False),  # trusted only over https
        ("https://eu.trusted.example", "127.0.0.1:8000", True),  # CSRF_TRUSTED_ORIGINS wildcard
        ("http://eu.trusted.example", "127.0.0.1:8000", False),
        ("https://eu.trusted.example:8443", "127.0.0.1:8000", False),
        ("https://evil.example", "127.0.0.1:8000", False),
        ("https://127.0.0.1.evil.example", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
    ],
)
def test_the_handshake_is_refused_with_4403_for_an_origin_of_another_site(settings, editor, origin, host, allowed, caplog):
    settings.CSRF_TRUSTED_ORIGINS = ["https://press.example.com", "https://*.trusted.example"]
    task = submit_task(created_by=editor)
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token_for(editor), headers=headers)
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        if allowed:
            assert (await next_frame(ws))["type"] == "snapshot"
        else:
            assert await close_code(ws) == 4403
        await ws.disconnect()

    run(scenario)
    refusals = [record for record in caplog.records if "refused: origin" in record.getMessage()]
    assert len(refusals) == (0 if allowed else 1)
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.parametrize(
    "scheme, forwarded, origin, allowed",
    [
        ("wss", None, "https://127.0.0.1:8000", True),  # wss is https
        ("wss", None, "http://127.0.0.1:8000", False),
        ("ws", "https", "https://127.0.0.1:8000", True),  # the TLS proxy's header, as Django trusts it
        ("ws", "https", "http://127.0.0.1:8000", False),
        ("ws", "http", "https://127.0.0.1:8000", False),
    ],
)
def test_the_origin_check_takes_the_scheme_from_the_proxy_header_when_configured(
    settings, editor, scheme, forwarded, origin, allowed
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    task = submit_task(created_by=editor)
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())]
    if forwarded:
        headers.append((b"x-forwarded-proto", forwarded.encode()))

    async def scenario():
        ws = communicator(f"/ws/tasks/{task.pk}", token=token_for(editor), headers=headers)
        ws.scope["scheme"] = scheme
        assert await ws.connect(timeout=TIMEOUT) == (True, None)
        if allowed:
            assert (await next_frame(ws))["type"] == "snapshot"
        else:
            assert await close_code(ws) == 4403
        await ws.disconnect()

    run(scenario)
