from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from aiops.telemetry.export import export_spans
from aiops.telemetry.records import RecordError, parse_timestamp


class Command(BaseCommand):
    help = "Write stored spans as span-record JSON lines, the format replay reads."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", default="-", help="File to write ('-': stdout)."
        )
        parser.add_argument("--since", help="Spans starting at or after (ISO 8601).")
        parser.add_argument("--until", help="Spans starting before (ISO 8601).")
        parser.add_argument("--service")
        parser.add_argument("--endpoint")

    def handle(self, *args, output, since, until, service, endpoint, **options):
        try:
            start = parse_timestamp(since, field="--since") if since else None
            end = parse_timestamp(until, field="--until") if until else None
        except RecordError as exc:
            raise CommandError(str(exc)) from None
        if start and end and end <= start:
            raise CommandError("--until must be after --since")
        out = self.stdout if output == "-" else open(output, "w", encoding="utf-8")
        try:
            count = export_spans(
                out, since=start, until=end, service=service, endpoint=endpoint
            )
        finally:
            if out is not self.stdout:
                out.close()
        self.stderr.write(f"Exported {count} spans.")
