"""The account a verb records as the one who acted: a task's creator, a decision's or a post
change's actor, the author of an edited version. It imports only `config` and `tasks.exceptions`,
so every app may call it.

The request read that account before the verb's transaction began, and a superuser may delete it
meanwhile (only an account that has recorded nothing the database protects, so typically at its
first act). The row naming it was then written, failed its foreign key at commit, and the request
was a 500 with the rest of its work lost. `actor_kept` checks the account again inside the
transaction and keeps it until the commit (`config.locks.rows_kept`); a verb calls it just before
it writes the row, after the rows it locks itself, which is the order a deletion of the account
takes them in (its tasks, versions and budget first, the account last), so the two wait for each
other and never deadlock.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from config.locks import rows_kept
from tasks.exceptions import NoLongerExists

ACCOUNT_GONE = "Your account was deleted meanwhile; nothing was saved."


def actor_kept(by) -> None:
    """Refuse (`NoLongerExists`: 404, a message in the admin) when `by`'s account no longer exists;
    else keep it from deletion until this transaction ends. None (no one: a scheduled job) passes."""
    if by is not None and not rows_kept((get_user_model(), by.pk))[0]:
        raise NoLongerExists(ACCOUNT_GONE)
