"""manage.py record_change --service payment --version 1.4.2 [--kind deploy]"""

from __future__ import annotations

import getpass
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from aiops.changes.models import ChangeKind
from aiops.changes.recording import ChangeError, ChangeInput, record_change


class Command(BaseCommand):
    help = (
        "Record a deployment, configuration change or feature flag, so that "
        "root-cause analysis can weigh it."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is the change's version here, not Django's.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--service", required=True)
        parser.add_argument(
            "--kind", choices=ChangeKind.values, default=ChangeKind.DEPLOY
        )
        parser.add_argument("--version", dest="change_version", default="")
        parser.add_argument("--previous-version", default="")
        parser.add_argument("--note", default="")
        parser.add_argument(
            "--at", help="when it took effect, ISO 8601 with an offset (default: now)"
        )

    def handle(self, *args, **options) -> None:
        at = None
        if options["at"]:
            at = parse_datetime(options["at"])
            if at is None:
                raise CommandError("--at: not an ISO 8601 date and time")
        try:
            change = record_change(
                ChangeInput(
                    service=options["service"],
                    kind=options["kind"],
                    version=options["change_version"],
                    previous_version=options["previous_version"],
                    note=options["note"],
                    at=at,
                ),
                source="command",
                by=getpass.getuser(),
                now=timezone.now(),
            )
        except ChangeError as exc:
            option = exc.field.replace("_", "-")
            raise CommandError(f"--{option}: {exc.message}") from None
        self.stdout.write(
            json.dumps(
                {
                    "id": change.pk,
                    "change": change.describe(),
                    "at": change.at.isoformat(),
                }
            )
        )
