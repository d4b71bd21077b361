"""The read replica: which database alias a query goes to.

With `DATABASE_REPLICA_URL` set, settings add a second alias, `replica`, and name it in
`DATABASE_READ_REPLICA`. Only reads made while a request is marked as a *public read* go there —
the blog's pages, feeds, search and sitemap and the public posts API; the middleware that marks
them is `publishing.replica.PublicReadsMiddleware`, which knows those URLs. Everything else — every
write, the admin, the task API, the pipeline, django-q2, migrations — uses the primary.

Why a request-scoped flag rather than `.using("replica")` in the publishing selectors: the public
pages read through more than our selectors (Django's sitemap and feed views, DRF's generic views,
related managers such as `post.tags.all()`, prefetches), and one forgotten `.using()` would
silently load the primary; the flag covers every query a public request makes, and code outside
those requests cannot reach the replica by accident. The flag is a context variable, so it holds
per thread under Gunicorn and per request under Daphne (asgiref copies the context into the
thread that runs a sync view).

Some reads stay on the primary even in a public request:

- inside a transaction on the primary (a reader must see the writes it has not committed);
- the shared cache table (`django_cache`: the blog's version and the throttles must be read where
  they were just written, or invalidation would lag behind the replica), sessions, users and the
  login lockout (a signed-in writer is never taken for someone else), and the task queue.

Replica lag is handled where the blog knows that something changed: a change of the blog starts a
new blog version (`publishing/caching.py`), and for `DATABASE_REPLICA_LAG_SECONDS` after that the
middleware leaves the request on the primary, so a writer who publishes and reloads sees the post,
and no page rendered from a lagging replica is cached under the new version.

This module imports nothing from the apps.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# Apps whose rows are read where they are written, whatever the request.
PRIMARY_ONLY_APPS = frozenset({
    "django_cache", "sessions", "auth", "axes", "token_blacklist", "django_q", "contenttypes", "admin",
})

_public_reads: ContextVar[bool] = ContextVar("pressroom_public_reads", default=False)


def replica_alias() -> str | None:
    """The replica's alias, or None when no replica is configured (then the router does nothing)."""
    return getattr(settings, "DATABASE_READ_REPLICA", None) or None


@contextmanager
def public_reads(enabled: bool = True):
    """Within the block, reads of public content may go to the replica (when there is one)."""
    token = _public_reads.set(enabled)
    try:
        yield
    finally:
        _public_reads.reset(token)


def mark_public_reads(enabled: bool = True) -> None:
    """From now on until the enclosing `public_reads()` block ends, reads of public content may go
    to the replica (or, with `enabled=False`, no longer). For a middleware that decides only once
    the view is known (`process_view`), or that has found the replica gone (`process_exception`)."""
    _public_reads.set(enabled)


def reading_public() -> bool:
    """Whether the current request's reads are marked for the replica."""
    return _public_reads.get()


class PrimaryReplicaRouter:
    """Reads of a public request go to the replica; everything else to the primary."""

    def db_for_read(self, model, **hints):
        alias = replica_alias()
        if alias is None or not reading_public():
            return DEFAULT_DB_ALIAS
        if model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object read from either may refer to the other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica follows the primary's schema through replication; it is never migrated itself.
        return db == DEFAULT_DB_ALIAS
