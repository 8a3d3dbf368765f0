from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from aiops_site.accounts import ensure_staff_account


class Command(BaseCommand):
    help = "Idempotent first-run setup: the staff account and its API token."

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
