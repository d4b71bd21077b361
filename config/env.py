"""Reading the environment: typed getters and the DATABASE_URL parser.

Every environment variable Pressroom reads is read in `config/settings.py` through these helpers,
so the README's configuration table and the code can be compared in one place. This module
imports nothing from the apps.
"""

from __future__ import annotations

import ipaddress
import os
import re
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's text; unset, empty or only spaces is `default`, as for every typed variable
    (`MEDIA_ROOT=` is not the current folder, nor `PRESSROOM_QUEUE_NAME=` a queue named '')."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}.")


# Upper bounds of the integer variables (`env_int(..., maximum=...)`), so that an absurd value
# stops the start with the variable's name instead of failing later: a duration of more than ten
# years overflows Python's dates and timers once added to now (and an attempt's deadline is an int4
# column), a count past a column's range wraps around in PostgreSQL, a port past 65535 binds nothing.
SECONDS_MAX = 10 * 365 * 24 * 3600
MINUTES_MAX = SECONDS_MAX // 60
DAYS_MAX = SECONDS_MAX // 86400
NETWORK_TIMEOUT_MAX = 3600  # a socket or statement timeout: an hour is already more than any wait here
COUNT_MAX = 100  # attempts, retries, rounds: each runs its work again
PROCESSES_MAX = 1024  # processes or threads one machine starts
THRESHOLD_MAX = 1_000_000  # failures counted before acting on them
BYTES_MAX = 1 << 30  # what one fetched page may hold in memory
PORT_MAX = 65535
_INTEGER = re.compile(r"[+-]?[0-9]+")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    # ASCII digits only: int() also reads other scripts' digits ("١٢٣") and underscores ("1_0").
    if not _INTEGER.fullmatch(raw.strip()):
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.")
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = (f"between {minimum} and {maximum}" if minimum is not None and maximum is not None
                  else f"at least {minimum}" if maximum is None else f"at most {maximum}")
        raise ImproperlyConfigured(f"{name} must be {bounds}, got {value}.")
    return value


MONEY_FORM = "an amount in US dollars with at most two decimals, e.g. 250 or 99.50"
MONEY_MAX = Decimal("9999999999.99")  # what a DecimalField(max_digits=12, decimal_places=2) holds


def env_money(name: str) -> Decimal | None:
    """An amount in US dollars (``250``, ``99.50``); unset, empty or 0 means none (no limit).

    Anything else (a negative, more than two decimals, an exponent, NaN, an amount too large to
    store) stops the start with the variable's name.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    whole, dot, cents = text.partition(".")
    well_formed_cents = not dot or (cents.isascii() and cents.isdigit() and len(cents) <= 2)
    if not (whole.isascii() and whole.isdigit() and well_formed_cents):
        raise ImproperlyConfigured(f"{name} must be {MONEY_FORM}, got {raw!r}.")
    value = Decimal(text)
    if value > MONEY_MAX:
        raise ImproperlyConfigured(f"{name} must be at most {MONEY_MAX}, got {raw!r}.")
    return value or None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of a few words (case-insensitive); anything else stops the start with the variable's name."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}.")
    return value


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name (``Europe/Paris``); unset or empty is `default`. An unknown name stops
    the start here, naming the variable, rather than as Django's ValueError."""
    import zoneinfo

    value = os.environ.get(name, "").strip() or default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be a time zone name such as UTC or Europe/Paris, got {value!r}."
        ) from None
    return value


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z){_HOST_LABEL}(?:\.{_HOST_LABEL})*", re.ASCII)


def env_host(name: str, default: str) -> str:
    """The address a server listens on: an IP address (`::1` or `[::1]`) or a host name. Empty means
    the default, as for the other variables: passed on, `HOST=` made Gunicorn's `--bind :8000`
    listen on every interface."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(value):
        return value
    raise ImproperlyConfigured(f"{name} must be an IP address or a host name to listen on, got {raw!r}.")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _split_url(variable: str, url: str):
    """`urlsplit(url)` with its port read; a malformed URL (a port past 65535 or not a number, an
    unclosed IPv6 bracket) stops the start naming `variable`. The URL itself is not repeated: it
    may hold a password."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (read for its ValueError)
    except ValueError as error:
        raise ImproperlyConfigured(f"{variable} is not a valid URL: {error}.") from None
    return parts


def parse_database_url(url: str, variable: str = "DATABASE_URL") -> dict:
    """Turn a ``postgres://`` / ``postgresql://`` URL into a Django DATABASES entry.

    A socket directory may be given as ``?host=/path`` (as libpq does), and any other query
    parameter (``sslmode``, ``connect_timeout``, ...) is passed to psycopg unchanged.
    """
    parts = _split_url(variable, url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{variable} must start with postgresql:// (got scheme {parts.scheme!r}); "
            "Pressroom needs PostgreSQL."
        )
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or unquote(parts.hostname or "")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(f"{variable} names no database (the path after the host).")
    return {
        "ENGINE": "config.postgresql",  # Django's, with a health check without a round trip
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def redis_url(url: str) -> str:
    """REDIS_URL checked as redis-py reads it (``redis://``, ``rediss://`` or ``unix://``, a port
    up to 65535, a database number); "" stays "" (no Redis). A malformed URL would otherwise pass
    the start and fail every cache read, broadcast and queued task with redis-py's ValueError."""
    url = url.strip()
    if not url:
        return ""
    parts = _split_url("REDIS_URL", url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix:// (got scheme {parts.scheme!r}).")
    database = parts.path.lstrip("/") if parts.scheme != "unix" else ""
    if database and not _INTEGER.fullmatch(database):
        raise ImproperlyConfigured(f"REDIS_URL: the database after the host must be a number (got {database!r}).")
    return url


def _origin(name: str, url: str, *, schemes: set[str], example: str) -> str:
    """`url` as an origin (scheme and host, no trailing slash); "" stays "". A path, query or
    another scheme stops the start with the variable's name."""
    url = url.strip().rstrip("/")
    if not url:
        return ""
    parts = _split_url(name, url)
    if parts.scheme not in schemes or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name} must be an origin like {example} (got {url!r}).")
    return url


def websocket_origin(url: str) -> str:
    """Check a WebSocket origin such as ``wss://ws.example.com`` (or ``ws://127.0.0.1:8001``) and
    return it without a trailing slash; "" stays "" (the page's own origin). A path, query or
    other scheme is refused: the address goes into the CSP's connect-src and the pages add
    /ws/... themselves."""
    return _origin("PRESSROOM_WEBSOCKET_URL", url, schemes={"ws", "wss"}, example="wss://ws.example.com")


def site_origin(url: str) -> str:
    """Check the site's public origin such as ``https://pressroom.example.com``, which emails put
    before the paths they link to (they have no request to take a host from)."""
    return _origin("PRESSROOM_SITE_URL", url, schemes={"http", "https"}, example="https://pressroom.example.com")


RATE_FORM = "<n>/<second|minute|hour|day>, e.g. 20/minute"
_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str:
    """A throttle rate such as ``20/minute`` (DRF's form; s/m/h/d abbreviations too). Anything else
    stops the start with the variable's name, instead of a 500 on the first throttled request."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    count, _, period = raw.strip().partition("/")
    if not (count.isascii() and count.isdigit() and int(count) > 0 and period in _RATE_PERIODS):
        raise ImproperlyConfigured(f"{name} must be a rate {RATE_FORM} (n ≥ 1), got {raw!r}.")
    return f"{int(count)}/{period}"


def env_networks(name: str) -> list[str]:
    """Comma-separated IP addresses or CIDR networks (``10.0.0.0/8, 192.0.2.1``), normalised;
    a malformed entry stops the start with the variable's name."""
    import ipaddress

    networks = []
    for item in env_list(name, []):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network; give addresses or CIDRs such as "
                "10.0.0.0/8, 192.0.2.1, separated by commas."
            ) from None
    return networks
