"""What a request gets while PostgreSQL is away: 503 with Retry-After in its surface's own format.

A database that is down, restarting or refusing connections is not a bug of the page that asked
it something, and answering 500 ("something went wrong on our side", a traceback in the log for
every request) told neither the reader nor the operator what was going on. Every surface answers
the same way instead: 503, `Retry-After: OUTAGE_RETRY_AFTER_SECONDS`, and

- under /api/: the API's error body, code `unavailable`;
- anywhere else (the blog, its feeds and sitemap, the admin, `/metrics`): the page `503.html`,
  rendered without the database and without a request context, as `500.html` is;

and the log gets one WARNING line per request naming the error, without its traceback (a
restart of PostgreSQL under load wrote 47 tracebacks, 350 kB, in 15 seconds).

`DatabaseOutageMiddleware` answers for the errors a view raises (DRF's views re-raise what the
API's exception handler leaves alone), at any DEBUG; `server_error`, the project's handler500,
answers for the rest (a middleware that reached the database) when DEBUG is off. Both ask
`outage_response`, the one place of the rule. An outage is `database_is_away`: Django's
`InterfaceError` (a connection already closed), or an `OperationalError` that says the server
cannot be reached (no SQLSTATE: refused, lost, closed) or is going away (SQLSTATE class 08,
57P01–57P03, 53300). Other `OperationalError`s are a statement's failure, not an outage — a
deadlock, a statement or lock timeout, a serialization failure, a full disk — and stay the 500
they are, with their traceback.

What keeps working through an outage logs it the same way, one line without a traceback
(`outage_summary`; `is_outage` tells an outage from a bug, which keeps its traceback): a
throttle whose cache is away, the blog rendering uncached, a running task's heartbeat, a broadcast
the channel layer cannot take, a wake-up job the Redis broker cannot take. Each wrote a traceback
per request, beat or event (the blog, 5 kB a request while Redis was away; a worker's broadcasts,
two per event). `log_failure` writes such a line. Imports only `config.api` of Pressroom's.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from redis.exceptions import RedisError

from config.api import error_body

logger = logging.getLogger(__name__)

# SQLSTATEs of a server going away or refusing sessions: admin_shutdown, crash_shutdown,
# cannot_connect_now, too_many_connections; with class 08, connection_exception.
AWAY_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# What a cache or broker raises when its server is unreachable (redis-py's errors; a refused or
# reset socket surfaces as OSError through other clients).
CACHE_OUTAGE_ERRORS = (RedisError, OSError)
OUTAGE_RETRY_AFTER_SECONDS = 10
OUTAGE_MESSAGE = "The service is briefly unavailable (its database cannot be reached). Please try again shortly."


def database_is_away(error: BaseException) -> bool:
    """Whether `error` says PostgreSQL cannot be reached, rather than that a statement failed."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)  # psycopg's error, which Django wraps
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in AWAY_SQLSTATES


def is_outage(error: BaseException) -> bool:
    """Whether `error` says PostgreSQL or Redis is away (then its traceback says nothing more)."""
    return database_is_away(error) or isinstance(error, CACHE_OUTAGE_ERRORS)


def outage_summary(error: BaseException) -> str:
    """`error` in one line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def log_failure(logger: logging.Logger, error: BaseException, message: str, *args) -> None:
    """`message % (*args, outage_summary(error))` at WARNING on `logger`: an outage in that one
    line, any other error with its traceback too. Its last `%s` is the error's summary."""
    logger.warning(message, *args, outage_summary(error), exc_info=not is_outage(error), stacklevel=2)


def outage_response(request, error: BaseException) -> HttpResponse | None:
    """The 503 for `error` when it means the database is away, else None (a bug: the 500 it was)."""
    if not database_is_away(error):
        return None
    logger.warning("Database unavailable; answered %s %s with 503: %s", request.method, request.path,
                   outage_summary(error))
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("unavailable", OUTAGE_MESSAGE), status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # the line above says it; Django's log_response would add a second
    return response


class DatabaseOutageMiddleware:
    """Turns a view's database outage into `outage_response`'s 503, whatever DEBUG says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return outage_response(request, exception)


def server_error(request):
    """handler500: the outage's 503 when the uncaught error (Django calls this inside its `except`)
    is a database outage, else Django's own 500 page."""
    return outage_response(request, sys.exc_info()[1]) or defaults.server_error(request)
