"""The product's settings, each with a default, so a host project sets only what
it changes.

``from aiops.conf import settings`` reads like ``django.conf.settings``: an
``AIOPS_*`` name the project does not set gives the default below, every other
name is Django's own setting. Values are read at each access, so tests' and
operators' overrides apply at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings


def _service_name() -> str:
    """The project's package (``mysite`` of ``mysite.urls``): a name per project."""
    urlconf = getattr(django_settings, "ROOT_URLCONF", "") or "django"
    return urlconf.split(".", 1)[0]


DEFAULTS: dict[str, Any] = {
    # Telemetry (the middleware)
    "AIOPS_SERVICE_NAME": _service_name,
    "AIOPS_SERVICE_VERSION": "",
    "AIOPS_TELEMETRY_EXCLUDE_PATHS": [
        "/admin/",
        "/static/",
        "/aiops/",
        "/v1/",
        "/metrics",
        "/favicon.ico",
        "/healthz",
    ],
    "AIOPS_TELEMETRY_SYNC": False,
    "AIOPS_TELEMETRY_QUEUE_SIZE": 50_000,
    "AIOPS_TELEMETRY_BATCH_SIZE": 256,
    "AIOPS_TELEMETRY_FLUSH_INTERVAL": 0.5,
    "AIOPS_CAPTURE_QUERIES": True,
    "AIOPS_MAX_CAPTURED_QUERIES": 200,
    # The alias SpanRouter keeps spans in (aiops.telemetry.routers).
    "AIOPS_SPAN_DATABASE": "default",
    # OTLP ingestion
    "AIOPS_OTLP_TOKEN": "",
    "AIOPS_OTLP_OPEN_LOOPBACK": False,
    "AIOPS_MAX_ENDPOINTS_PER_SERVICE": 200,
    "AIOPS_MAX_ENDPOINTS": 2000,
    "AIOPS_OVERFLOW_SPANS_PER_MINUTE": 6000,
    "AIOPS_OTLP_MAX_CLOCK_SKEW": 60.0,
    "AIOPS_OTLP_MAX_BYTES": 16 * 1024 * 1024,
    "AIOPS_OTLP_MAX_CONCURRENT": 4,
    "AIOPS_THROTTLE_SIMULATION": "120/min",
    "AIOPS_THROTTLE_OTLP": "1200/min",
    # Changes, detection, incidents
    "AIOPS_CHANGE_WINDOW": 900,
    "AIOPS_MAX_NEW_INCIDENTS": 10,
    "AIOPS_STORM_WINDOW": 600.0,
    "AIOPS_LEASE_TTL": 0.0,
    "AIOPS_RETENTION_DAYS": 7.0,
    # Notifications
    "AIOPS_BASE_URL": "http://127.0.0.1:8000",
    "AIOPS_NOTIFY_TIMEOUT": 5.0,
    "AIOPS_NOTIFY_BACKOFF": 30.0,
    "AIOPS_NOTIFY_MAX_ATTEMPTS": 6,
    "AIOPS_NOTIFY_MAX_PER_CHANNEL": 30,
    "AIOPS_WEBHOOK_ALLOWED_HOSTS": [],
    # Access: closed unless the project opens it
    "AIOPS_PUBLIC_READ": False,
    "AIOPS_DEV_OPEN_LOOPBACK": False,
    # The production profile: the standalone site sets it from AIOPS_ENV; in a
    # host project, production is wherever DEBUG is off.
    "PRODUCTION": lambda: not getattr(django_settings, "DEBUG", False),
}


class AiopsSettings:
    def __getattr__(self, name: str) -> Any:
        if hasattr(django_settings, name):
            return getattr(django_settings, name)
        if name in DEFAULTS:
            default = DEFAULTS[name]
            return default() if callable(default) else default
        raise AttributeError(f"no setting {name}")


settings = AiopsSettings()
