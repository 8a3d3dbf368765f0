from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from aiops.telemetry.ingest_auth import create_ingest_token
from aiops.telemetry.models import IngestToken

NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class Command(BaseCommand):
    help = (
        "Ingest tokens for POST /v1/traces: 'create NAME [--service S ...]' prints a "
        "new key once; 'list'; 'revoke NAME'."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("name", nargs="?")
        parser.add_argument(
            "--service",
            action="append",
            default=[],
            help="A service the token may write spans for (repeat; none: any).",
        )

    def handle(self, *args, action: str, name: str | None, service, **options):
        if action == "list":
            for token in IngestToken.objects.all():
                services = ", ".join(token.services) or "any service"
                state = "enabled" if token.enabled else "revoked"
                used = token.last_used_at.isoformat() if token.last_used_at else "never"
                self.stdout.write(
                    f"{token.name}\t{token.prefix}...\t{state}\t{services}\t"
                    f"last used {used}"
                )
            return
        if not name or not NAME.match(name):
            raise CommandError(
                "name: 1-100 letters, digits, '.', '_' or '-' (e.g. orders-prod)"
            )
        if action == "revoke":
            if not IngestToken.objects.filter(name=name).update(enabled=False):
                raise CommandError(f"no ingest token named {name!r}")
            self.stdout.write(f"Revoked ingest token {name!r}.")
            return
        bad = [s for s in service if not s or len(s) > 100]
        if bad:
            raise CommandError("--service: a service name of 1-100 characters")
        try:
            token, key = create_ingest_token(name=name, services=service)
        except IntegrityError:
            raise CommandError(f"an ingest token named {name!r} exists") from None
        services = ", ".join(token.services) or "any service"
        self.stderr.write(f"Created ingest token {name!r} for {services}. Its key:")
        self.stdout.write(key)
