"""System checks for the telemetry settings (``manage.py check``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


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
    return problems
