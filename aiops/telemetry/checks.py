"""System checks for the telemetry settings (``manage.py check``)."""

from __future__ import annotations

from django.core.checks import Error, register

from aiops.conf import settings


@register()
def check_ingest_settings(app_configs, **kwargs):
    problems = []
    if settings.AIOPS_OTLP_OPEN_LOOPBACK and settings.PRODUCTION:
        problems.append(
            Error(
                "AIOPS_OTLP_OPEN_LOOPBACK is a development setting; in production "
                "every exporter sends an ingest token.",
                hint="Unset it, and give each service a key from "
                "'manage.py ingest_token create'.",
                id="telemetry.E001",
            )
        )
    if settings.AIOPS_DEV_OPEN_LOOPBACK and settings.PRODUCTION:
        problems.append(
            Error(
                "AIOPS_DEV_OPEN_LOOPBACK is a development setting; production needs a "
                "token for every read and write.",
                id="telemetry.E002",
            )
        )
    limit = settings.AIOPS_MAX_CAPTURED_QUERIES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        problems.append(
            Error(
                "AIOPS_MAX_CAPTURED_QUERIES must be a whole number >= 0 (statements "
                "kept per request; 0 counts and times queries only).",
                id="telemetry.E003",
            )
        )
    return problems
