from __future__ import annotations

from django.core.management.base import BaseCommand

from aiops.detection.config import DetectionConfig
from aiops.detection.schedule import (
    ensure_analysis_schedule,
    ensure_notification_schedule,
    ensure_prune_schedule,
)


class Command(BaseCommand):
    help = (
        "Create or update the django-q2 schedules (analysis every AIOPS_INTERVAL, "
        "notifications, pruning); idempotent. For projects that run `qcluster`."
    )

    def handle(self, *args, **options):
        interval = DetectionConfig.from_settings().interval
        for schedule, created in (
            ensure_analysis_schedule(interval=interval),
            ensure_notification_schedule(),
            ensure_prune_schedule(),
        ):
            verb = "Created" if created else "Kept"
            self.stdout.write(f"{verb} schedule '{schedule.name}' ({schedule.func}).")
