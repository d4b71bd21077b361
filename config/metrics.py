"""`GET /metrics`: Prometheus' text format, for a scraper the operator names, nobody else.

Access. The endpoint is off (404, as if it did not exist) until the operator turns it on with a
bearer token (`PRESSROOM_METRICS_TOKEN`), a list of networks (`PRESSROOM_METRICS_NETWORKS`), or
both; when both are set, a scrape needs both (the token from an allowed address). The address is
the client's as `config/client_address.py` tells it (PRESSROOM_TRUSTED_PROXIES), never an
`X-Forwarded-For` as sent. A missing token answers 401 with `WWW-Authenticate: Bearer`, a wrong
one or an address outside the networks 403; tokens are compared in constant time.

What is exposed. One registry is built per scrape from:
- the values processes observed themselves (`tasks.metrics`: stage durations, provider calls,
  WebSockets). With `PROMETHEUS_MULTIPROC_DIR` set, the files every process of this machine
  wrote there are summed (prometheus-client's multiprocess mode), after the files of processes
  that exited are folded into one per kind (`config/metrics_files.py`); without it, only this
  process's own values are seen (fine for a single-process development server).
- each collector of `PRESSROOM_METRICS_COLLECTORS` (settings: dotted paths of
  `prometheus_client.registry.Collector` classes, instantiated without arguments), which read
  the database at scrape time. Another app adds its own there (e.g. webhook deliveries) without
  this module knowing it.

The serving scripts (`make run`, `make serve`) set PROMETHEUS_MULTIPROC_DIR and empty the folder
before starting their children (`scripts/supervisor.py: metrics_environment`).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from functools import lru_cache

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from config.api import error_body
from config.client_address import client_address
from config.metrics_files import fold_exited_processes, metrics_folder_locked

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in allowed)


def _address_allowed(request) -> bool:
    try:
        address = ipaddress.ip_address(client_address(request).strip())
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.PRESSROOM_METRICS_NETWORKS)))


def _bearer_token(request) -> str | None:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _refusal(request) -> HttpResponse | None:
    """The answer to a scrape that may not read the metrics, or None when it may."""
    token, networks = settings.PRESSROOM_METRICS_TOKEN, settings.PRESSROOM_METRICS_NETWORKS
    if not token and not networks:
        raise Http404("Metrics are off.")
    if networks and not _address_allowed(request):
        return JsonResponse(error_body("forbidden", "Metrics are not served to this address."), status=403)
    if token:
        given = _bearer_token(request)
        if given is None:
            response = JsonResponse(
                error_body("not_authenticated", "Send the metrics token as 'Authorization: Bearer <token>'."),
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
            return JsonResponse(error_body("forbidden", "The metrics token is wrong."), status=403)
    return None


def metrics_registry():
    """A registry of everything `/metrics` shows (see the module), built for one scrape."""
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:  # one process: its own values (and the default process/platform collectors)
        registry.register(_Forward(REGISTRY))
    for path in settings.PRESSROOM_METRICS_COLLECTORS:  # plus the database's
        registry.register(import_string(path)())
    return registry


class _Forward:
    """Exposes another registry's metrics inside a per-scrape registry."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


@csrf_exempt  # it changes nothing: a write is the 405 below, not the CSRF failure page
@never_cache
@require_safe
def metrics(request):
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    import tasks.metrics  # noqa: F401  (its metrics exist in this process, at zero, before any event)

    folder = settings.PROMETHEUS_MULTIPROC_DIR
    if not folder:
        return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
    with metrics_folder_locked(folder):  # folds and scrapes of this machine take turns
        try:
            fold_exited_processes(folder)
        except OSError:  # a full disk, say: the folder is as it was, and is read as it is
            logger.warning("Could not fold the metrics files of exited processes", exc_info=True)
        body = generate_latest(metrics_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
