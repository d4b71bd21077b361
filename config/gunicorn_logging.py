"""Gunicorn's own log lines in the format of every other line of the log (settings.LOGGING's
console handler: one JSON object per line in production, readable text in development).

Gunicorn writes its start, its workers' boots, exits and timeouts, and the requests it refuses
before Django sees them ("Invalid request from ip=…") through its `gunicorn.error` logger, to
stderr, in a text format of its own (`[2026-12-03 19:48:54 +0000] [9078] [INFO] Booting worker`)
that a collector reading the production log as JSON lines cannot parse. Every Gunicorn that
Pressroom starts runs with `--logger-class config.gunicorn_logging.Logger`
(`scripts.supervisor.GUNICORN_OPTIONS`).
Its `setup`, which Gunicorn runs in the master before it forks the workers and again when its
configuration is reloaded, configures settings.LOGGING in the master and lets `gunicorn.error`
hand its records to the root logger's handler instead of Gunicorn's own; the workers inherit
that, and Django configures the same again in each of them. When the settings cannot be read
(a variable Django refuses), Gunicorn's own format stays, so that its lines and the worker's
error that says why still reach the log.

Gunicorn's access log stays off: each request's line is `pressroom.request`'s
(config/request_id.py). A Gunicorn `logconfig_dict` would have done the same routing, but it also
turns Gunicorn's access logging on, which formats every request's access line even with no
handler to write it.
"""

from __future__ import annotations

import logging
import logging.config
import os

from django.core.exceptions import ImproperlyConfigured
from gunicorn import glogging


class Logger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # as config/wsgi.py
        from django.conf import settings

        try:
            configuration = settings.LOGGING
        except ImproperlyConfigured:
            return  # the worker's boot reports the variable; Gunicorn's format says it meanwhile
        logging.config.dictConfig(configuration)
        for handler in [handler for handler in self.error_log.handlers if getattr(handler, "_gunicorn", False)]:
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True
