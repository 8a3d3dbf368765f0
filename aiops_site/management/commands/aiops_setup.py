from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from aiops.detection.schedule import (
    ensure_analysis_schedule,
    ensure_notification_schedule,
    ensure_prune_schedule,
)
from aiops.telemetry.ingest_auth import ensure_default_ingest_token
from aiops_site.accounts import ensure_staff_account


class Command(BaseCommand):
    help = (
        "Idempotent setup, run on every start: the staff account with its API token, "
        "the default ingest token for OTLP exporters and the schedules."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password",
            default=os.environ.get("AIOPS_ADMIN_PASSWORD") or None,
            help="Password to set; default $AIOPS_ADMIN_PASSWORD or a generated one.",
        )

    def handle(self, *args, username: str, password: str | None, **options):
        account = ensure_staff_account(
            username=username, password=password, data_dir=settings.DATA_DIR
        )
        verb = "Created" if account.created else "Kept"
        self.stdout.write(f"{verb} staff account '{account.username}'.")
        if account.password_file is not None:
            self.stdout.write(f"  password: {account.password_file}")
        self.stdout.write(f"  API token: {account.token_file}")
        _, path, created = ensure_default_ingest_token(data_dir=settings.DATA_DIR)
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} ingest token 'default' for OTLP exporters: {path}")
        schedule, created = ensure_analysis_schedule(interval=settings.AIOPS_INTERVAL)
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} schedule '{schedule.name}' (cron {schedule.cron}).")
        schedule, created = ensure_notification_schedule()
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} schedule '{schedule.name}' (every 30 s).")
        schedule, created = ensure_prune_schedule()
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} schedule '{schedule.name}' (hourly).")
