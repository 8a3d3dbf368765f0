from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aiops.conf import settings
from aiops.detection.housekeeping import prune_telemetry


class Command(BaseCommand):
    help = (
        "Delete spans older than the retention period (AIOPS_RETENTION_DAYS), in "
        "bounded batches, keeping the spans active incidents show as evidence."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=None)

    def handle(self, *args, days: float | None, **options):
        days = settings.AIOPS_RETENTION_DAYS if days is None else days
        if not days > 0:
            raise CommandError("--days must be a positive number")
        result = prune_telemetry(now=timezone.now(), days=days)
        self.stdout.write(
            f"Deleted {result.deleted} spans older than {days:g} days in "
            f"{result.batches} batches; kept {result.kept_as_evidence} as evidence."
        )
