"""Pressroom settings: the one place that reads the environment.

Development needs no variables: DEBUG is on, a secret key is generated once under ./var/, and the
database is the embedded PostgreSQL that `make run` / `make test` start (its URL is handed over in
DATABASE_URL, or read from ./var/postgres.url by any later `manage.py` call). Production is
`DEBUG=0` plus a real SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL; `manage.py check --deploy` is
then clean. Every variable read here is listed in the README's configuration table.
"""

from __future__ import annotations

import copy
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError

from config.env import (
    BYTES_MAX, COUNT_MAX, DAYS_MAX, MINUTES_MAX, NETWORK_TIMEOUT_MAX, PORT_MAX, PROCESSES_MAX, SECONDS_MAX,
    THRESHOLD_MAX, env_bool, env_choice, env_int, env_list, env_money, env_networks, env_rate, env_str,
    env_time_zone, parse_database_url, redis_url, site_origin, websocket_origin,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PRESSROOM_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)
# The debug page hides connection strings and any URL with a password, not only Django's names.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.debug.CredentialSafeExceptionReporterFilter"


def _development_secret_key() -> str:
    """A random key kept in ./var/ so that every process (web, workers) shares it."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")
    SECRET_KEY = _development_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0 (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "config.admin_site.PressroomAdminConfig",  # django.contrib.admin with the dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",  # refresh tokens: rotation, reuse refused, logout
    "axes",  # login lockout for the admin and the token endpoint
    "config.apps.PressroomConfig",  # config's signal receivers (config/tokens.py)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static files (no CDN)
    "django_q",
    "csp",  # django-csp: the Content-Security-Policy header (its system checks need the app)
    "channels",
    "channels_postgres",
    "tasks",
    "content",
    "publishing",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",  # first: every line of a request, even a refused one, has its id
    "config.client_address.ClientAddressMiddleware",  # REMOTE_ADDR := the client (PRESSROOM_TRUSTED_PROXIES)
    "config.outages.DatabaseOutageMiddleware",  # a view's database outage: 503, Retry-After; after the replica's retry
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that may answer (WhiteNoise, Common)
    "config.query_guard.RejectNulHeadersMiddleware",  # NUL in a header: 400, before sessions read a cookie
    "config.query_guard.RejectNulQueryMiddleware",  # NUL in a query parameter: 400, never a DataError
    "config.utf8_only.RequireUtf8Middleware",  # a charset not UTF-8: 415; form or query not UTF-8: 400
    "config.static_files.RangeWhiteNoiseMiddleware",  # WhiteNoise, its byte ranges as RFC 9110 reads them
    "csp.middleware.CSPMiddleware",  # after WhiteNoise: static files need no policy
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "publishing.replica.PublicReadsMiddleware",  # the public blog's and API's reads may use the replica
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out admin login into the lockout page
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"  # Gunicorn in production (`make serve`)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.live_updates",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL wins. Without it, the embedded development server's URL, written by
# scripts/devdb.py while it runs, lets plain `manage.py` calls reach the same database.
_EMBEDDED_URL_FILE = VAR_DIR / "postgres.url"
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL and _EMBEDDED_URL_FILE.exists():
    DATABASE_URL = _EMBEDDED_URL_FILE.read_text().strip()
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "No database: set DATABASE_URL=postgresql://user:password@host:5432/name, or use "
        "`make run` / `make test` (or `make manage CMD=...`), which start the embedded "
        "PostgreSQL under ./var/."
    )
DATABASES = {"default": parse_database_url(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0, maximum=SECONDS_MAX)
# django-q2 closes a worker's connection after every job unless it may live longer: a task would
# open a new PostgreSQL connection (a new server process) for each run. Applied in each worker
# process when it starts (tasks.jobs.on_worker_spawn); the web processes keep the value above.
PRESSROOM_WORKER_CONN_MAX_AGE = env_int("PRESSROOM_WORKER_CONN_MAX_AGE", 60, minimum=0, maximum=SECONDS_MAX)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Statements sent with their parameters apart (server-side binding), and prepared once a connection
# has run one five times: PostgreSQL then parses and plans each of the engine's and the API's
# fixed statements once per connection instead of on every call. Off for a transaction-pooling
# PgBouncer older than 1.21, which cannot keep a connection's prepared statements. A query whose
# best plan depends on its values runs under config.postgresql.planned_for_its_values.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
PREPARED_STATEMENT_OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}
if DATABASE_PREPARED_STATEMENTS:
    DATABASES["default"]["OPTIONS"].update(PREPARED_STATEMENT_OPTIONS)
# Without it libpq waits forever for an unreachable host; DATABASE_URL may give another value.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# An optional read replica: the public blog's and public API's reads go there (config/db_router.py),
# except for DATABASE_REPLICA_LAG_SECONDS after any change of the blog, when they stay on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
DATABASE_READ_REPLICA = "replica" if DATABASE_REPLICA_URL else None
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = parse_database_url(DATABASE_REPLICA_URL, "DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    if DATABASE_PREPARED_STATEMENTS:
        DATABASES["replica"]["OPTIONS"].update(PREPARED_STATEMENT_OPTIONS)
    # Public reads fall back to the primary when the replica does not answer (publishing/replica.py):
    # a short connect timeout keeps the request that finds it down from waiting long.
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", 3)
DATABASE_REPLICA_LAG_SECONDS = env_int("DATABASE_REPLICA_LAG_SECONDS", 5, minimum=0, maximum=SECONDS_MAX)
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]  # without a replica it sends everything to default

REDIS_URL = redis_url(env_str("REDIS_URL"))
# Options of the channel layer's Redis connections (see CHANNEL_LAYERS below). redis-py's asyncio
# client retries nothing by default: after a Redis restart, every pooled connection is dead and
# failed the next WebSocket or broadcast that drew it; one retry reconnects.
REDIS_LAYER_OPTIONS = {"socket_timeout": 30, "max_connections": 1000, "retry_on_error": [RedisConnectionError]}

# --- Cache, channel layer, queue broker: Redis when REDIS_URL is set, else PostgreSQL --------
# The PostgreSQL channel layer: channels_postgres on the "default" connection's settings, read when
# the layer is built (tasks/channel_layer.py says why it is not handed a copy of DATABASES here).
POSTGRES_CHANNEL_LAYER = {"BACKEND": "tasks.channel_layer.PostgresChannelLayer", "CONFIG": {"database": "default"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_FUNCTION": "config.cache.storable_key"}}
    # redis-py 8 gives every connection a 5 s read timeout by default; with channels_redis' list
    # layer (its 5 s BRPOP wait) an idle socket died with "Timeout reading" (1011 to the client),
    # so the layer's timeout stays above any wait. The pool is sized for connect bursts.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "tasks.redis_layer.RedisChannelLayer",  # channels_redis pub/sub (tasks/redis_layer.py)
            "CONFIG": {"hosts": [{"address": REDIS_URL, **REDIS_LAYER_OPTIONS}]},
        }
    }
else:
    # A database cache keeps throttles and idempotency shared by every process and machine.
    CACHES = {
        "default": {"BACKEND": "config.cache.PostgresDatabaseCache", "LOCATION": "pressroom_cache",
                    "KEY_FUNCTION": "config.cache.storable_key"}  # throttle keys hold what clients send
    }
    CHANNEL_LAYERS = {"default": copy.deepcopy(POSTGRES_CHANNEL_LAYER)}

# The blog's rendered pages, per process, under the blog's shared version (publishing/caching.py).
CACHES["blog_pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "pressroom-blog-pages",
    "OPTIONS": {"MAX_ENTRIES": 2000},
}
# Search result pages apart: anyone can ask for any number of distinct searches, and kept beside
# the posts and lists they evicted them (`publishing.caching.cached_blog_page`, `pages=`).
CACHES["blog_search_pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "pressroom-blog-search-pages",
    "OPTIONS": {"MAX_ENTRIES": 500},
}
PRESSROOM_BLOG_CACHE_SECONDS = env_int("PRESSROOM_BLOG_CACHE_SECONDS", 600, minimum=0, maximum=SECONDS_MAX)
PRESSROOM_BLOG_CDN_MAX_AGE = env_int("PRESSROOM_BLOG_CDN_MAX_AGE", 0, minimum=0, maximum=SECONDS_MAX)

# Generation tasks: deadlines, workers, heartbeats, retries (see tasks/engine/).
PRESSROOM_TASK_TIMEOUT = env_int("PRESSROOM_TASK_TIMEOUT", 900, minimum=1, maximum=SECONDS_MAX)
PRESSROOM_TASK_TIMEOUT_MAX = env_int(
    "PRESSROOM_TASK_TIMEOUT_MAX", 3600, minimum=PRESSROOM_TASK_TIMEOUT, maximum=SECONDS_MAX
)
PRESSROOM_WORKERS = env_int("PRESSROOM_WORKERS", 2, minimum=1, maximum=PROCESSES_MAX)
# How long `manage.py qcluster` waits at start for the database (reachable, migrated) and the Redis
# broker before it refuses; 0 refuses at once (config/management/commands/qcluster.py).
PRESSROOM_WORKER_START_WAIT_SECONDS = env_int("PRESSROOM_WORKER_START_WAIT_SECONDS", 120, minimum=0,
                                              maximum=NETWORK_TIMEOUT_MAX)
PRESSROOM_MAX_ATTEMPTS = env_int("PRESSROOM_MAX_ATTEMPTS", 3, minimum=1, maximum=COUNT_MAX)
PRESSROOM_HEARTBEAT_SECONDS = env_int("PRESSROOM_HEARTBEAT_SECONDS", 5, minimum=1, maximum=SECONDS_MAX // 2)
PRESSROOM_HEARTBEAT_STALE_SECONDS = env_int(
    "PRESSROOM_HEARTBEAT_STALE_SECONDS", 30, minimum=2 * PRESSROOM_HEARTBEAT_SECONDS, maximum=SECONDS_MAX
)
PRESSROOM_RETRY_BASE_SECONDS = env_int("PRESSROOM_RETRY_BASE_SECONDS", 2, minimum=0, maximum=SECONDS_MAX)
PRESSROOM_RETRY_MAX_SECONDS = env_int("PRESSROOM_RETRY_MAX_SECONDS", 300, minimum=0, maximum=SECONDS_MAX)
PRESSROOM_CALL_RETRIES = env_int("PRESSROOM_CALL_RETRIES", 3, minimum=0, maximum=COUNT_MAX)
# Content pipeline (content/): quality loop, images, research sources.
PRESSROOM_QA_THRESHOLD = env_int("PRESSROOM_QA_THRESHOLD", 70, minimum=0, maximum=100)
PRESSROOM_QA_MAX_ROUNDS = env_int("PRESSROOM_QA_MAX_ROUNDS", 3, minimum=0, maximum=COUNT_MAX)
# The four-eyes rule: nobody approves a task they created. Off (0) only for one-person sites.
PRESSROOM_FOUR_EYES = env_bool("PRESSROOM_FOUR_EYES", True)
PRESSROOM_SHOW_PROVENANCE = env_bool("PRESSROOM_SHOW_PROVENANCE", True)  # "How this post was made" on posts
PRESSROOM_IMAGE_PROVIDER = env_choice("PRESSROOM_IMAGE_PROVIDER", "offline", ("offline", "pexels"))
PRESSROOM_IMAGE_GENERATOR = env_choice("PRESSROOM_IMAGE_GENERATOR", "openai_images", ("offline", "openai_images"))
PRESSROOM_OPENAI_IMAGES_URL = env_str("PRESSROOM_OPENAI_IMAGES_URL", "https://api.openai.com/v1")
PRESSROOM_PEXELS_URL = env_str("PRESSROOM_PEXELS_URL", "https://api.pexels.com/v1")
PRESSROOM_SEARXNG_URL = env_str("PRESSROOM_SEARXNG_URL", "")  # e.g. http://searxng:8080; empty: off
PRESSROOM_FETCH_TIMEOUT_SECONDS = env_int(
    "PRESSROOM_FETCH_TIMEOUT_SECONDS", 10, minimum=1, maximum=NETWORK_TIMEOUT_MAX
)
PRESSROOM_FETCH_MAX_BYTES = env_int("PRESSROOM_FETCH_MAX_BYTES", 2_000_000, minimum=1024, maximum=BYTES_MAX)
# Fetching from loopback/private addresses is refused; tests that serve pages from 127.0.0.1
# turn this on explicitly. Never enable it in production.
PRESSROOM_FETCH_ALLOW_PRIVATE = env_bool("PRESSROOM_FETCH_ALLOW_PRIVATE", False)
PRESSROOM_RESEARCH_SOURCES = [
    "content.providers.research.PastedTextSource",
    "content.providers.research.UrlSource",
    "publishing.research.InternalPostsSource",
    "content.providers.searxng.SearxngSource",
]

# Monthly cost budget of the whole site in USD (tasks.budgets); None (unset or 0): no limit.
PRESSROOM_MONTHLY_BUDGET = env_money("PRESSROOM_MONTHLY_BUDGET")
# Prices a brief before it runs (content.costs); a hook so `tasks` need not import `content`.
PRESSROOM_COST_ESTIMATOR = "content.costs.estimated_cost"
# A task's post as the task API shows it (publishing.selectors), for many tasks in one query.
PRESSROOM_TASK_POST_SUMMARIES = "publishing.selectors.task_post_summaries"

# Which stages each task type runs: dotted paths to lists of `tasks.engine.Stage`.
PRESSROOM_TASK_TYPES = {
    "blog_post": "content.pipeline.BLOG_POST_STAGES",
    "image_generation": "content.pipeline.IMAGE_GENERATION_STAGES",
}

Q_CLUSTER = {
    # Clusters with the same name share one queue; give each deployment on a shared Redis its own.
    "name": env_str("PRESSROOM_QUEUE_NAME", "pressroom"),
    "workers": PRESSROOM_WORKERS,
    # A job is killed past the longest task deadline plus a margin; `retry` must stay above
    # `timeout`, or the broker would hand a still-running job to a second worker.
    "timeout": PRESSROOM_TASK_TIMEOUT_MAX + 10 + PRESSROOM_TASK_TIMEOUT_MAX // 10,
    "retry": PRESSROOM_TASK_TIMEOUT_MAX + 70 + PRESSROOM_TASK_TIMEOUT_MAX // 10,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "label": "Task queue",
}
# django-q2 reads Q_CLUSTER_NAME as another queue's name, and failed with a KeyError traceback in
# every command (it expects ALT_CLUSTERS); a cluster on another queue than the web's would idle.
if env_str("Q_CLUSTER_NAME", Q_CLUSTER["name"]) != Q_CLUSTER["name"]:
    raise ImproperlyConfigured("Q_CLUSTER_NAME is not supported: the task queue's name is PRESSROOM_QUEUE_NAME, "
                               "the one the web enqueues to and the clusters take from.")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, API ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# django-axes first: it refuses a locked-out (username, client address) before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "config.backends.PermissionsInOneQueryBackend",  # Django's ModelBackend, permissions in one query
]

# The reverse proxies whose X-Forwarded-For is believed (config/client_address.py); empty: none,
# the socket's peer is the client.
PRESSROOM_TRUSTED_PROXIES = env_networks("PRESSROOM_TRUSTED_PROXIES")

# Lockout after PRESSROOM_LOGIN_FAILURE_LIMIT wrong passwords for one username from one client
# address, on /admin/login/ and POST /api/auth/token alike, for PRESSROOM_LOGIN_COOLOFF_MINUTES
# after the last failure. Per username *and* address, so nobody can lock a victim out from
# everywhere; guessing many usernames from one address is slowed by the `auth` throttle.
AXES_FAILURE_LIMIT = env_int("PRESSROOM_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=THRESHOLD_MAX)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_int("PRESSROOM_LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=MINUTES_MAX)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # a plain string (axes' default is a lazy object the debug page chokes on)
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "config.auth.admin_lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure, with its address, in the admin
AXES_VERBOSE = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: an unauthenticated request gets 401 with `WWW-Authenticate: Bearer`.
        "config.authentication.JWTAuthentication",  # simplejwt's, with a cheaper user lookup
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "auth": env_rate("PRESSROOM_AUTH_RATE", "20/minute"),
        "task_create": env_rate("PRESSROOM_TASK_CREATE_RATE", "10/hour"),
        "public": env_rate("PRESSROOM_PUBLIC_API_RATE", "120/minute"),  # per address (publishing.api.public)
    },
    # Throttles key anonymous clients on REMOTE_ADDR alone, which ClientAddressMiddleware has made
    # the client's address; never on X-Forwarded-For as sent.
    "NUM_PROXIES": 0,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.ApiAutoSchema",  # documents the refusals every view gives
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1, maximum=MINUTES_MAX)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 1, minimum=1, maximum=DAYS_MAX)),
    "UPDATE_LAST_LOGIN": True,
    # A refresh token works once: refreshing returns a new one and blacklists the old (config/tokens.py
    # also blacklists a user's refresh tokens on password change and deactivation).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the password hash: a changed password ends every access token at once.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pressroom API",
    "DESCRIPTION": "Brief, generate, review and publish content. Every 4xx answer has the body "
    '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.',
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TaskPhaseEnum": "tasks.models.task.Phase",
        "VersionPhaseEnum": "content.models.versions.VersionPhase",
        "TaskStatusEnum": "tasks.models.task.Status",
        "WebhookEventEnum": "publishing.webhooks.models.WebhookEvent",
        "WebhookDeliveryStatusEnum": "publishing.webhooks.models.DeliveryStatus",
        "WebhookSubscriptionStateEnum": "publishing.webhooks.models.SubscriptionState",
    },
}

# --- CORS: other sites' front ends may read the public posts API, nothing else ---------------
# Origins from PRESSROOM_CORS_ALLOWED_ORIGINS (comma-separated); empty, the default: no CORS headers.


def _cors_origins(name: str) -> list[str]:
    from urllib.parse import urlsplit

    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if (parts.scheme not in {"http", "https"} or not parts.hostname or not port_ok or parts.username
                or parts.password or parts.path or parts.query or parts.fragment or "\x00" in origin):
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin; give scheme://host[:port], e.g. "
                "https://app.example.com (no path, no trailing slash), separated by commas."
            )
    return origins


CORS_ALLOWED_ORIGINS = _cors_origins("PRESSROOM_CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/posts(?:/.*)?$"
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_ALLOW_CREDENTIALS = False

# --- Internationalisation, static and media files -------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
FORMAT_MODULE_PATH = ["config.formats"]  # dates as 2026-12-03 14:05 (config/formats/en/formats.py)
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]  # files of no app: the API docs page's stylesheet
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Media go through Django's storage API only, so where they live is this one switch:
# `filesystem` (MEDIA_ROOT) or `s3` (an S3-compatible bucket; the `s3` extra, config/s3_storage.py).
PRESSROOM_MEDIA_STORAGE = env_str("PRESSROOM_MEDIA_STORAGE", "filesystem").strip().lower()
if PRESSROOM_MEDIA_STORAGE == "filesystem":
    MEDIA_STORAGE = {"BACKEND": "config.storage.MediaStorage"}
elif PRESSROOM_MEDIA_STORAGE == "s3":
    try:
        import storages.backends.s3  # noqa: F401
    except ImportError:
        raise ImproperlyConfigured(
            "PRESSROOM_MEDIA_STORAGE=s3 needs django-storages with boto3: pip install 'pressroom[s3]' "
            "(or `.venv/bin/pip install -e '.[s3]'`)."
        ) from None
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("PRESSROOM_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (the bucket's name).")
    MEDIA_STORAGE = {
        "BACKEND": "config.s3_storage.S3MediaStorage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,  # MinIO, Ceph, R2...: their URL
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "location": env_str("AWS_LOCATION", ""),  # a folder inside the bucket
        },
    }
else:
    raise ImproperlyConfigured(
        f"PRESSROOM_MEDIA_STORAGE must be filesystem or s3, got {PRESSROOM_MEDIA_STORAGE!r}."
    )
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it even when unused

# --- Security -------------------------------------------------------------------------------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1 so Django trusts
# X-Forwarded-Proto; set SECURE_SSL_REDIRECT=0 when the proxy itself redirects to HTTPS.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0, maximum=SECONDS_MAX)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "config.sessions"  # database sessions; a key of anything but letters and digits is none
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT and not DEBUG:
    # The operator said the proxy in front redirects to HTTPS (documented in the README).
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# --- Content-Security-Policy (django-csp), on every page: blog, admin and API docs ----------
# No inline script or style anywhere: pages hand data to their scripts in data attributes.
# PRESSROOM_WEBSOCKET_URL is where browsers open the live-progress WebSockets when /ws/ is not on
# the page's own origin (Daphne on its own port without a proxy, e.g. ws://127.0.0.1:8001);
# empty means the page's origin, which 'self' already allows.
PRESSROOM_WEBSOCKET_URL = websocket_origin(env_str("PRESSROOM_WEBSOCKET_URL", ""))
# How often an open task WebSocket checks again that its user may still watch (tasks/consumers.py);
# an access token's expiry ends the socket at once anyway.
PRESSROOM_WS_RECHECK_SECONDS = env_int("PRESSROOM_WS_RECHECK_SECONDS", 30, minimum=1, maximum=SECONDS_MAX)
# Threads (and at most as many database connections) a Daphne process reads on for its
# WebSockets' handshakes and access re-checks (tasks/consumers.py, SocketReadThreads).
PRESSROOM_WS_DB_THREADS = env_int("PRESSROOM_WS_DB_THREADS", 2, minimum=1, maximum=PROCESSES_MAX)
# Unsent bytes a WebSocket may hold in Daphne (frames its client has not read yet) before it is
# closed with 1013 (config/daphne_guards.py): without a bound, a client that never reads grew
# Daphne's memory by every event it was sent until the ping timeout.
PRESSROOM_WS_SEND_BUFFER_BYTES = env_int("PRESSROOM_WS_SEND_BUFFER_BYTES", 4 << 20, minimum=64 << 10,
                                         maximum=BYTES_MAX)
# Sockets one user may hold open on one Daphne process (tasks/consumers.py, OpenSockets); one more
# is closed with 4429. A page of the admin opens one.
PRESSROOM_WS_MAX_SOCKETS_PER_USER = env_int("PRESSROOM_WS_MAX_SOCKETS_PER_USER", 20, minimum=1,
                                            maximum=THRESHOLD_MAX)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", *([PRESSROOM_WEBSOCKET_URL] if PRESSROOM_WEBSOCKET_URL else [])],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Outgoing webhooks and email notifications (publishing.webhooks) -----------------------
# A delivery that fails is tried again after RETRY_BASE seconds, doubling per attempt up to
# RETRY_MAX, at most MAX_ATTEMPTS times in all; DISABLE_AFTER failed attempts in a row (over all
# of a subscription's deliveries) disable the subscription until an admin re-enables it.
PRESSROOM_WEBHOOK_TIMEOUT_SECONDS = env_int(
    "PRESSROOM_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=NETWORK_TIMEOUT_MAX
)
PRESSROOM_WEBHOOK_MAX_ATTEMPTS = env_int("PRESSROOM_WEBHOOK_MAX_ATTEMPTS", 5, minimum=1, maximum=COUNT_MAX)
PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS = env_int(
    "PRESSROOM_WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=0, maximum=SECONDS_MAX
)
PRESSROOM_WEBHOOK_RETRY_MAX_SECONDS = env_int(
    "PRESSROOM_WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=0, maximum=SECONDS_MAX
)
PRESSROOM_WEBHOOK_DISABLE_AFTER = env_int("PRESSROOM_WEBHOOK_DISABLE_AFTER", 15, minimum=1, maximum=THRESHOLD_MAX)
# Days that finished webhook attempts and sent notification lines are kept (publishing.jobs.housekeeping).
PRESSROOM_DELIVERY_HISTORY_DAYS = env_int("PRESSROOM_DELIVERY_HISTORY_DAYS", 90, minimum=1, maximum=DAYS_MAX)
# Notifications to reviewers and admins are gathered for this many seconds into one digest email.
PRESSROOM_NOTIFY_DIGEST_SECONDS = env_int("PRESSROOM_NOTIFY_DIGEST_SECONDS", 60, minimum=0, maximum=SECONDS_MAX)
PRESSROOM_NOTIFY_EMAILS = env_bool("PRESSROOM_NOTIFY_EMAILS", True)
# The site's public origin, put before the paths that emails and webhook bodies link to (they are
# sent by workers, with no request to take the host from). In development, `make run`'s own
# address; in production it must be set, or they carry bare paths (`check --deploy` says so).
PRESSROOM_SITE_URL = site_origin(env_str(
    "PRESSROOM_SITE_URL",
    f"http://{env_str('HOST', '127.0.0.1')}:{env_int('PORT', 8000, minimum=1, maximum=PORT_MAX)}" if DEBUG else "",
))
# Django's email settings; development prints emails on the console. Django's SMTP backend bounds
# each socket step (EMAIL_TIMEOUT), not a sending, so a server dripping bytes held a digest job for
# as long as it liked: named, it runs as its subclass with a deadline for a whole sending.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    EMAIL_BACKEND = "config.smtp_deadline.DeadlineSMTPBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=PORT_MAX)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1, maximum=NETWORK_TIMEOUT_MAX)
# The whole of one SMTP sending (connect, greeting, TLS, login, the messages, QUIT), however slowly
# the server answers: then the connection is closed and the sending fails (config/smtp_deadline.py).
PRESSROOM_EMAIL_DEADLINE_SECONDS = env_int("PRESSROOM_EMAIL_DEADLINE_SECONDS", 60, minimum=1,
                                           maximum=NETWORK_TIMEOUT_MAX)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pressroom <pressroom@localhost>")

# --- Operations: /metrics and /readyz (config/metrics.py, config/health.py) ------------------
# /metrics is off (404) until a bearer token or scraper networks are set; with both, both are needed.
PRESSROOM_METRICS_TOKEN = env_str("PRESSROOM_METRICS_TOKEN", "").strip()
if PRESSROOM_METRICS_TOKEN and (len(PRESSROOM_METRICS_TOKEN) < 16 or not PRESSROOM_METRICS_TOKEN.isascii()
                                or not PRESSROOM_METRICS_TOKEN.isprintable() or " " in PRESSROOM_METRICS_TOKEN):
    raise ImproperlyConfigured(
        "PRESSROOM_METRICS_TOKEN must be at least 16 printable ASCII characters without spaces "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')."
    )
PRESSROOM_METRICS_NETWORKS = env_networks("PRESSROOM_METRICS_NETWORKS")
# prometheus-client's multiprocess mode: the folder where every process of this machine writes its
# observed values (the serving scripts set and empty it); unset: each process sees only its own.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
# Collectors that read values at scrape time: dotted paths of prometheus_client Collector classes
# (built without arguments). Apps add theirs here, e.g. webhook deliveries.
PRESSROOM_METRICS_COLLECTORS = [
    "tasks.metrics.TaskCollector",
    "publishing.webhooks.metrics.WebhookDeliveriesCollector",
    "publishing.webhooks.metrics.WebhookSubscriptionsCollector",
]
# Each readiness check gives up after this long; a cluster counts as alive while the broker's
# store keeps its last status (django-q2 keeps it 3 s, by the store's clock: config/health.py).
PRESSROOM_READYZ_TIMEOUT_SECONDS = env_int(
    "PRESSROOM_READYZ_TIMEOUT_SECONDS", 2, minimum=1, maximum=NETWORK_TIMEOUT_MAX
)

# --- Logging --------------------------------------------------------------------------------
# One JSON object per line in production (for a log collector), readable lines in development;
# both carry the task id and the request id (tasks/logging.py, config/request_id.py).
LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical")).upper()
PRESSROOM_LOG_FORMAT = env_choice("PRESSROOM_LOG_FORMAT", "text" if DEBUG else "json", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "()": "config.log_format.TextFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d task=%(task_id)s request=%(request_id)s "
                      "%(message)s",
        },
        "json": {
            "()": "config.log_format.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(task_id)s %(request_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        },
    },
    "filters": {
        "log_context": {"()": "tasks.logging.LogContextFilter"},
        # Requests Django refused as a client's fault: one short WARNING line, no traceback.
        "client_refusals": {"()": "config.log_format.ClientRefusalFilter"},
        # django-q2's records of an outage: one line, no traceback.
        "queue_outages": {"()": "config.log_format.QueueOutageFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": PRESSROOM_LOG_FORMAT,
                    "filters": ["log_context", "client_refusals", "queue_outages"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own handlers for `django` (a console handler printing unformatted lines and
        # tracebacks when DEBUG is on, mail_admins without ADMINS) are removed: its records reach
        # the console handler above once, formatted and filtered, as every other logger's do.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # every failure is a row in the admin; the log keeps lockouts
        # httpx logs each request's full URL at INFO: webhook URLs carry their receivers' secrets in
        # paths and queries (Slack-style), and some providers take keys in the query
        "httpx": {"level": "WARNING"},
    },
}
