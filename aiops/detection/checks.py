"""System checks for the detection settings (``manage.py check``)."""

from __future__ import annotations

from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from aiops.conf import settings
from aiops.detection.config import DetectionConfig
from aiops.detection.schedule import cron_for_interval


@register()
def check_detection_settings(app_configs, **kwargs):
    problems = []
    config = DetectionConfig.from_settings()
    try:
        cron_for_interval(config.interval)
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="detection.E001"))
    if config.window < config.interval:
        problems.append(
            Warning(
                "AIOPS_WINDOW is shorter than AIOPS_INTERVAL; the interval is used.",
                id="detection.W001",
            )
        )
    if not 0 < config.ewma_alpha <= 1:
        problems.append(
            Error("AIOPS_EWMA_ALPHA must be in (0, 1]", id="detection.E002")
        )
    if config.lookback < config.effective_window:
        problems.append(
            Warning(
                "AIOPS_LOOKBACK is shorter than the window: quiet endpoints are judged "
                "on fewer requests than AIOPS_MIN_WINDOW_SAMPLES.",
                id="detection.W002",
            )
        )
    if getattr(settings, "AIOPS_PUBLIC_READ", False) and settings.PRODUCTION:
        problems.append(
            Warning(
                "AIOPS_PUBLIC_READ lets anyone read incidents and metrics.",
                id="detection.W003",
            )
        )
    return problems
