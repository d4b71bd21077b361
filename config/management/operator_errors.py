"""What Pressroom's own management commands do when the database or the terminal fails them: one
line on stderr (or none, for a closed pipe) and a documented exit status, never a traceback.

An operator meets these without any bug in the command: a DATABASE_URL that points nowhere, at a
database nobody migrated or at a read-only replica, output piped into `head`, which closes the pipe
once it has read enough, or Ctrl-C. Errors that mean a bug still end in a traceback. Imported by the commands of every app,
and by manage.py for a settings module that does not exist; imports nothing of Pressroom's.
"""

from __future__ import annotations

import os
import sys

import psycopg.errors
from django.core.management.base import CommandError
from django.db import InterfaceError, InternalError, OperationalError, ProgrammingError

MIGRATE_HINT = "run `python manage.py migrate` first"
# A table or column of this release that the database lacks: it was never migrated, or not lately.
_SCHEMA_BEHIND = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn)


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def database_command_error(error: Exception) -> CommandError | None:
    """The `CommandError` an operator should see for `error`, or None when it means a bug."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return CommandError(f"The database could not be used: {first_line(error)}")
    if isinstance(error, ProgrammingError) and isinstance(error.__cause__, _SCHEMA_BEHIND):
        return CommandError(f"The database lacks this release's tables ({first_line(error)}): {MIGRATE_HINT}.")
    if isinstance(error, InternalError) and isinstance(error.__cause__, psycopg.errors.ReadOnlySqlTransaction):
        return CommandError(f"The database refuses to be written ({first_line(error)}): DATABASE_URL names a "
                            "read-only server (a replica?) or sets default_transaction_read_only.")
    return None


def missing_settings_module(error: Exception, module: str) -> str | None:
    """The one line to say when `error` means the settings module `module` (from --settings or
    DJANGO_SETTINGS_MODULE) does not exist, or None when it is another failure: a module the
    settings themselves import, whose traceback says which import failed and where."""
    if isinstance(error, ModuleNotFoundError) and error.name and (
            module == error.name or module.startswith(f"{error.name}.")):
        reason = first_line(error)  # the module, or the first package of its path, that is not there
    elif isinstance(error, TypeError) and module.startswith("."):
        reason = "a relative name (give the whole path, e.g. config.settings)"  # importlib's TypeError
    else:
        return None
    return (f"ModuleNotFoundError: The settings module {module!r} (--settings or DJANGO_SETTINGS_MODULE) "
            f"cannot be imported: {reason}.")


class OperatorErrorsMixin:
    """Put before the command's base class: `class Command(OperatorErrorsMixin, BaseCommand)`.

    - The database unreachable, refusing the login, not migrated, or read-only: `CommandError`
      naming it.
    - Standard output closed by its reader (`| head -1`): the command stops quietly with status 1,
      as a Unix tool ended by SIGPIPE does, and Python's own complaint at exit is not printed.
      Output is flushed before the command returns, so a closed pipe is noticed here and not only
      by the interpreter's last flush.
    - Ctrl-C (SIGINT, e.g. while create_demo_accounts waits for another run): "Interrupted." and
      status 130; a transaction still open is rolled back by the database.
    """

    def execute(self, *args, **options):
        try:
            output = super().execute(*args, **options)
            self.stdout.flush()
            return output
        except BrokenPipeError:
            silence_closed_stdout()
            sys.exit(1)
        except KeyboardInterrupt:
            self.stderr.write("Interrupted.")
            sys.exit(130)  # 128 + SIGINT, as a shell reports a command Ctrl-C ended
        except (OperationalError, InterfaceError, ProgrammingError, InternalError) as error:
            command_error = database_command_error(error)
            if command_error is None:
                raise
            raise command_error from error


def silence_closed_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush of what is still
    buffered for the closed pipe fails nowhere (Python's advice for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's StringIO): nothing will flush it at exit
