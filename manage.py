#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from django.db import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        # A variable the settings refuse ("DEBUG must be a boolean ..."): its message says all an
        # operator needs; --traceback shows where it came from, as for a CommandError. The line is
        # the traceback's last line as it was, so what looked for that still finds it.
        if "--traceback" in sys.argv:
            raise
        sys.exit(f"{type(error).__module__}.{type(error).__qualname__}: {error}")
    except (ModuleNotFoundError, TypeError) as error:
        # `--settings=no.such.module` or DJANGO_SETTINGS_MODULE naming nothing: one line naming
        # the module. A settings module that exists and fails to import another keeps its
        # traceback, which says which import failed and where.
        from config.management.operator_errors import missing_settings_module

        line = missing_settings_module(error, os.environ.get("DJANGO_SETTINGS_MODULE", ""))
        if line is None or "--traceback" in sys.argv:
            raise
        sys.exit(line)
    except (OperationalError, InterfaceError) as error:
        # The database down or refusing the login, in any command, Django's own too (`migrate`,
        # which `make run` runs first): one line naming it, as Pressroom's commands say it.
        if "--traceback" in sys.argv:
            raise
        from config.management.operator_errors import first_line

        sys.exit(f"CommandError: The database could not be used: {first_line(error)}")


if __name__ == "__main__":
    main()
