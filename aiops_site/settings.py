"""Settings for AIOps for Django: one module, driven by environment variables.

The embedded default (no variables set) is SQLite in WAL mode plus django-q2's ORM
broker, which needs nothing but Python. ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis; ``AIOPS_ENV=production`` turns on the production profile.
Every variable is listed, with its default, in the README.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from aiops_site.env import env_bool, env_float, env_int, env_list, env_str, local_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("AIOPS_DATA_DIR", str(BASE_DIR / "var")))

AIOPS_ENV = env_str("AIOPS_ENV", "development")
if AIOPS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("AIOPS_ENV must be 'development' or 'production'")
PRODUCTION = AIOPS_ENV == "production"


def _development_secret_key() -> str:
    # A key generated once per checkout, so sessions survive restarts without anyone
    # having to invent a secret to try the app.
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when AIOPS_ENV=production"
        )
    SECRET_KEY = _development_secret_key()

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "aiops_site",
    "aiops.telemetry",
    "aiops.detection",
    "aiops.changes",
    "demo_shop",
    "aiops.notifications",
    "aiops.dashboard",
]

MIDDLEWARE = [
    # Outermost, so the recorded duration covers the whole stack below it.
    "aiops.telemetry.middleware.TelemetryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Recording this app's own requests can be switched off (it then only analyses
# spans that other services send).
AIOPS_TELEMETRY_ENABLED = env_bool("AIOPS_TELEMETRY_ENABLED", True)
if not AIOPS_TELEMETRY_ENABLED:
    MIDDLEWARE.remove("aiops.telemetry.middleware.TelemetryMiddleware")

ROOT_URLCONF = "aiops_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "aiops_site.wsgi.application"
ASGI_APPLICATION = "aiops_site.asgi.application"

# --- Database -------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # WAL lets readers run while the span writer commits; NORMAL is durable at
        # every checkpoint and is what WAL is designed for.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;"
        ),
        # IMMEDIATE takes the write lock at BEGIN, so a transaction never has to
        # upgrade a read lock (that upgrade fails at once with "database is locked",
        # whatever the timeout).
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("AIOPS_SQLITE_TIMEOUT", 20.0, minimum=0.1),
    }
    # Tests use a file, not :memory:, so the span writer thread and live servers see
    # the same database through connections of their own, as in production.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue (django-q2) -----------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": env_str("AIOPS_Q_NAME", "aiops"),
    "workers": env_int("AIOPS_Q_WORKERS", 2, minimum=1),
    # A cycle is kept far below this; the timeout only stops a stuck worker.
    "timeout": env_int("AIOPS_Q_TIMEOUT", 120, minimum=5),
    "retry": env_int("AIOPS_Q_TIMEOUT", 120, minimum=5) + 60,
    "max_attempts": 1,
    # A missed 30-second tick must not be replayed as a burst of cycles.
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "label": "Task queue",
    "sync": env_bool("AIOPS_Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = env_float("AIOPS_Q_POLL", 0.2, minimum=0.05)

# --- Auth, API ------------------------------------------------------------------
_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Failed admin sign-ins per account and address before a lockout of this many s.
AIOPS_LOGIN_MAX_FAILURES = env_int("AIOPS_LOGIN_MAX_FAILURES", 5, minimum=1)
AIOPS_LOGIN_LOCKOUT = env_float("AIOPS_LOGIN_LOCKOUT", 900.0, minimum=1.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns "not logged in" into a 401.
        "aiops.api.authentication.TokenOrBearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["aiops.api.permissions.ReadAuthenticatedWriteStaff"],
    "DEFAULT_PARSER_CLASSES": [
        "aiops.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "aiops.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "aiops.api.errors.exception_handler",
    # Rate limits key anonymous clients by address. X-Forwarded-For is believed only
    # as far as the proxies in front of this app set it (AIOPS_TRUSTED_PROXIES);
    # with none, the socket's address, which no client can choose.
    "NUM_PROXIES": env_int("AIOPS_TRUSTED_PROXIES", 0, minimum=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AIOps for Django",
    "DESCRIPTION": "Telemetry, anomaly detection, root-cause analysis and incidents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["aiops.api.permissions.ReadAuthenticatedWriteStaff"],
    # Swagger UI from the installed sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "aiops.detection.models.Severity",
        "ChangeKindEnum": "aiops.changes.models.ChangeKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aiops.api.schema.add_error_responses",
    ],
}

# --- Internationalisation, static -----------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serves app static files without collectstatic in development and tests.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_MAX_BODY_BYTES", 2_621_440, minimum=1024)

# --- Production profile ---------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("AIOPS_LOG_LEVEL", "INFO")},
    "loggers": {
        # django-q2 logs as "django-q" (with a hyphen), not its package name.
        "django-q": {"level": env_str("AIOPS_Q_LOG_LEVEL", "WARNING")},
        # Its debug lines carry full URLs, and webhook URLs are secrets.
        "urllib3": {"level": "WARNING"},
    },
}

# --- AIOps: telemetry -----------------------------------------------------------
AIOPS_SERVICE_NAME = env_str("AIOPS_SERVICE_NAME", "shop")
# The version the middleware stamps on its spans (a release tag, the git revision
# your deploy sets); "" for none. Each new value is recorded as a deployment.
AIOPS_SERVICE_VERSION = env_str("AIOPS_SERVICE_VERSION", "")[:64]
# --- AIOps: changes ---------------------------------------------------------------
# A change to a service on an incident's failing path made at most this many
# seconds before its fault began is weighed as its cause (changes.attribution).
AIOPS_CHANGE_WINDOW = env_int("AIOPS_CHANGE_WINDOW", 900, minimum=0)
# --- AIOps: detection --------------------------------------------------------------
# Learn what each quarter hour of the day usually does to an endpoint's latency
# (a nightly batch, a morning cold cache) and expect it (detection.core.seasonal).
AIOPS_SEASONAL = env_bool("AIOPS_SEASONAL", True)
# Judge endpoints that behave as sampled series (a probe, a scheduled job: one
# value a cycle) with the series detector (detection.core.detectors.series).
AIOPS_SERIES = env_bool("AIOPS_SERIES", True)
# Path prefixes the middleware does not record: the tool's own surfaces.
AIOPS_TELEMETRY_EXCLUDE_PATHS = env_list(
    "AIOPS_TELEMETRY_EXCLUDE_PATHS",
    [
        "/admin/",
        "/static/",
        "/aiops/",
        "/simulate/",
        "/v1/",
        "/metrics",
        "/favicon.ico",
        "/healthz",
    ],
)
# Each request's database queries: count, time, the most repeated statement
# (normalised, never its values); at most this many statements looked at each.
AIOPS_CAPTURE_QUERIES = env_bool("AIOPS_CAPTURE_QUERIES", True)
AIOPS_MAX_CAPTURED_QUERIES = env_int("AIOPS_MAX_CAPTURED_QUERIES", 200, minimum=1)
# Synchronous writes (one INSERT per request): for tests and debugging only.
AIOPS_TELEMETRY_SYNC = env_bool("AIOPS_TELEMETRY_SYNC", False)
AIOPS_TELEMETRY_QUEUE_SIZE = env_int("AIOPS_TELEMETRY_QUEUE_SIZE", 50_000, minimum=1)
AIOPS_TELEMETRY_BATCH_SIZE = env_int("AIOPS_TELEMETRY_BATCH_SIZE", 256, minimum=1)
AIOPS_TELEMETRY_FLUSH_INTERVAL = env_float(
    "AIOPS_TELEMETRY_FLUSH_INTERVAL", 0.5, minimum=0.01
)

# --- AIOps: OTLP/HTTP ingestion (POST /v1/traces) ---------------------------------
# Exporters send "Authorization: Bearer <key>" of an ingest token (aiops_setup makes
# one, var/ingest_token; manage.py ingest_token makes more, per service). This
# variable, if set, is one more key, allowed to write any service.
AIOPS_OTLP_TOKEN = env_str("AIOPS_OTLP_TOKEN")
# Development only: clients on this machine (loopback) may export without a key.
AIOPS_OTLP_OPEN_LOOPBACK = env_bool("AIOPS_OTLP_OPEN_LOOPBACK", False)
# Distinct endpoint names per service and in all (beyond: the service's "(other)").
AIOPS_MAX_ENDPOINTS_PER_SERVICE = env_int(
    "AIOPS_MAX_ENDPOINTS_PER_SERVICE", 200, minimum=1
)
AIOPS_MAX_ENDPOINTS = env_int("AIOPS_MAX_ENDPOINTS", 2000, minimum=1)
# Spans stored under "(other)" endpoints per minute and web process; more are
# counted and refused.
AIOPS_OVERFLOW_SPANS_PER_MINUTE = env_int(
    "AIOPS_OVERFLOW_SPANS_PER_MINUTE", 6000, minimum=0
)
# Spans starting (or ending) further than this in the future are refused: a
# client's clock may be a little ahead, never minutes.
AIOPS_OTLP_MAX_CLOCK_SKEW = env_float("AIOPS_OTLP_MAX_CLOCK_SKEW", 60.0, minimum=0.0)
# Largest accepted body, before and after gzip.
AIOPS_OTLP_MAX_BYTES = env_int("AIOPS_OTLP_MAX_BYTES", 16 * 1024 * 1024, minimum=1024)
# Exports stored at once per process; more get 429 and a Retry-After.
AIOPS_OTLP_MAX_CONCURRENT = env_int("AIOPS_OTLP_MAX_CONCURRENT", 4, minimum=1)

# --- AIOps: notifications -------------------------------------------------------
# Where people open an incident from a notification (links in Slack, PagerDuty...).
AIOPS_BASE_URL = env_str("AIOPS_BASE_URL", "http://127.0.0.1:8000")
AIOPS_NOTIFY_TIMEOUT = env_float("AIOPS_NOTIFY_TIMEOUT", 5.0, minimum=0.1)
AIOPS_NOTIFY_BACKOFF = env_float("AIOPS_NOTIFY_BACKOFF", 30.0, minimum=0.0)
AIOPS_NOTIFY_MAX_ATTEMPTS = env_int("AIOPS_NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
# Notification targets on loopback, link-local or metadata addresses are refused
# unless their host is listed here (e.g. a receiver on this machine).
AIOPS_WEBHOOK_ALLOWED_HOSTS = env_list("AIOPS_WEBHOOK_ALLOWED_HOSTS", [])
# Messages per channel within AIOPS_STORM_WINDOW; more are kept, not sent.
AIOPS_NOTIFY_MAX_PER_CHANNEL = env_int("AIOPS_NOTIFY_MAX_PER_CHANNEL", 30, minimum=1)

# --- AIOps: retention -----------------------------------------------------------
AIOPS_RETENTION_DAYS = env_float("AIOPS_RETENTION_DAYS", 7.0, minimum=0.01)

# --- AIOps: demo shop -----------------------------------------------------------
# Where checkout calls payment and inventory. Never the request's Host header (any
# client can send one, and would aim the shop's calls anywhere): by default the
# address scripts/run.py serves on (AIOPS_BIND), as seen from this machine.
AIOPS_BIND = env_str("AIOPS_BIND", "127.0.0.1:8000")
AIOPS_DEMO_BASE_URL = env_str("AIOPS_DEMO_BASE_URL", "") or local_url(AIOPS_BIND)
AIOPS_DEMO_TIMEOUT = env_float("AIOPS_DEMO_TIMEOUT", 5.0, minimum=0.01)
AIOPS_DEMO_MAX_DELAY_MS = env_int("AIOPS_DEMO_MAX_DELAY_MS", 30_000, minimum=0)
AIOPS_FAULT_CACHE_SECONDS = env_float("AIOPS_FAULT_CACHE_SECONDS", 1.0, minimum=0)

# Requests per client per period on the endpoints that do work on demand.
AIOPS_THROTTLE_SIMULATION = env_str("AIOPS_THROTTLE_SIMULATION", "120/min")
AIOPS_THROTTLE_OTLP = env_str("AIOPS_THROTTLE_OTLP", "1200/min")

# --- AIOps: access --------------------------------------------------------------
# Lets anonymous users read incidents, metrics and the service map (never write).
AIOPS_PUBLIC_READ = env_bool("AIOPS_PUBLIC_READ", False)
# Development: anonymous clients on this machine may use the prototype's curl
# walk-through (read incidents and metrics, inject faults, analyse, resolve).
AIOPS_DEV_OPEN_LOOPBACK = env_bool("AIOPS_DEV_OPEN_LOOPBACK", not PRODUCTION)

# --- AIOps: detection (see detection/config.py for what each one does) ----------
AIOPS_INTERVAL = env_float("AIOPS_INTERVAL", 30.0, minimum=1.0)
AIOPS_WINDOW = env_float("AIOPS_WINDOW", 60.0, minimum=1.0)
AIOPS_LOOKBACK = env_float("AIOPS_LOOKBACK", 1800.0, minimum=0.0)
AIOPS_MIN_WINDOW_SAMPLES = env_int("AIOPS_MIN_WINDOW_SAMPLES", 5, minimum=1)
AIOPS_EWMA_ALPHA = env_float("AIOPS_EWMA_ALPHA", 0.1, minimum=0.0001)
AIOPS_MIN_BASELINE_SAMPLES = env_int("AIOPS_MIN_BASELINE_SAMPLES", 20, minimum=1)
AIOPS_BOOTSTRAP_HISTORY = env_float("AIOPS_BOOTSTRAP_HISTORY", 3600.0, minimum=0.0)
AIOPS_LATENCY_RATIO = env_float("AIOPS_LATENCY_RATIO", 3.0, minimum=1.0)
AIOPS_LATENCY_MIN_DELTA_MS = env_float("AIOPS_LATENCY_MIN_DELTA_MS", 5.0, minimum=0.0)
AIOPS_MIN_SLOW_SAMPLES = env_int("AIOPS_MIN_SLOW_SAMPLES", 3, minimum=1)
AIOPS_MIN_SLOW_FRACTION = env_float("AIOPS_MIN_SLOW_FRACTION", 0.1, minimum=0.0)
AIOPS_SIGNIFICANCE = env_float("AIOPS_SIGNIFICANCE", 1e-6, minimum=0.0)
AIOPS_ERROR_RATE_THRESHOLD = env_float("AIOPS_ERROR_RATE_THRESHOLD", 0.2, minimum=0.0)
AIOPS_ERROR_MIN_REQUESTS = env_int("AIOPS_ERROR_MIN_REQUESTS", 5, minimum=1)
AIOPS_MIN_ERROR_SAMPLES = env_int("AIOPS_MIN_ERROR_SAMPLES", 3, minimum=1)
AIOPS_SILENCE_MIN_EXPECTED = env_float("AIOPS_SILENCE_MIN_EXPECTED", 20.0, minimum=1.0)
AIOPS_CORRELATION_WINDOW = env_float("AIOPS_CORRELATION_WINDOW", 300.0, minimum=1.0)
AIOPS_RESOLVE_AFTER = env_float("AIOPS_RESOLVE_AFTER", 120.0, minimum=0.0)
# At most this many new incidents open within AIOPS_STORM_WINDOW seconds; faults
# over it are grouped into one "incident storm" (notified once).
AIOPS_MAX_NEW_INCIDENTS = env_int("AIOPS_MAX_NEW_INCIDENTS", 10, minimum=1)
AIOPS_STORM_WINDOW = env_float("AIOPS_STORM_WINDOW", 600.0, minimum=0.0)
# No analysis cycle for this long: GET /healthz/analysis answers 503 and
# scripts/run.py restarts the task cluster (default: three intervals).
AIOPS_STALL_AFTER = env_float("AIOPS_STALL_AFTER", 3 * AIOPS_INTERVAL + 15, minimum=1.0)
AIOPS_REOPEN_WINDOW = env_float("AIOPS_REOPEN_WINDOW", 900.0, minimum=0.0)
AIOPS_RELEARN_AFTER = env_float("AIOPS_RELEARN_AFTER", 21600.0, minimum=0.0)
# Seconds a cycle may hold the cluster-wide lease; 0: four intervals, at least 60.
AIOPS_LEASE_TTL = env_float("AIOPS_LEASE_TTL", 0.0, minimum=0.0)
# "k:z" pairs: the median of the last k cycles at least z standard deviations off.
AIOPS_SHIFT_RULES = tuple(
    (int(k), float(z))
    for k, z in (
        pair.split(":")
        for pair in env_list("AIOPS_SHIFT_RULES", ["1:12", "3:5", "5:3"])
    )
)
AIOPS_SHIFT_MIN_CHANGE = env_float("AIOPS_SHIFT_MIN_CHANGE", 0.5, minimum=0.0)
AIOPS_SHIFT_MEMORY = env_float("AIOPS_SHIFT_MEMORY", 2000.0, minimum=1.0)
