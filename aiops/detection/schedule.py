"""The django-q2 schedule that runs the analysis, registered idempotently."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django_q.models import Schedule

ANALYSIS_SCHEDULE = "aiops-analysis"
ANALYSIS_TASK = "aiops.detection.tasks.run_scheduled_analysis"


def cron_for_interval(seconds: float) -> str:
    """A CRON expression firing every ``seconds``.

    django-q2 has no seconds-level schedule type and rounds ``minutes=0.5`` up to a
    minute; croniter's optional sixth field is seconds (it goes LAST).
    """
    whole = int(seconds)
    if whole != seconds or whole <= 0:
        raise ImproperlyConfigured("AIOPS_INTERVAL must be a whole number of seconds")
    if whole < 60 and 60 % whole == 0:
        return f"* * * * * */{whole}"
    if whole % 60 == 0 and 60 % (whole // 60) == 0:
        return f"*/{whole // 60} * * * *"
    raise ImproperlyConfigured(
        "AIOPS_INTERVAL must divide a minute (e.g. 10, 15, 30) or an hour in minutes"
    )


NOTIFY_SCHEDULE = "aiops-notifications"
NOTIFY_TASK = "aiops.notifications.tasks.dispatch"
PRUNE_SCHEDULE = "aiops-prune-telemetry"
PRUNE_TASK = "aiops.detection.tasks.prune_old_telemetry"


def ensure_prune_schedule() -> tuple[Schedule, bool]:
    """Hourly: small batches often rather than one large delete a day."""
    return Schedule.objects.update_or_create(
        name=PRUNE_SCHEDULE,
        defaults={"func": PRUNE_TASK, "schedule_type": Schedule.HOURLY, "repeats": -1},
    )


def ensure_notification_schedule() -> tuple[Schedule, bool]:
    """Retries and reminders; new notifications are also dispatched at once."""
    return Schedule.objects.update_or_create(
        name=NOTIFY_SCHEDULE,
        defaults={
            "func": NOTIFY_TASK,
            "schedule_type": Schedule.CRON,
            "cron": cron_for_interval(30),
            "repeats": -1,
        },
    )


def ensure_analysis_schedule(*, interval: float) -> tuple[Schedule, bool]:
    """Create or update the schedule by name; safe to call on every start."""
    return Schedule.objects.update_or_create(
        name=ANALYSIS_SCHEDULE,
        defaults={
            "func": ANALYSIS_TASK,
            "schedule_type": Schedule.CRON,
            "cron": cron_for_interval(interval),
            "repeats": -1,
        },
    )
