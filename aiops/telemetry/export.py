"""Stored spans as span-record JSON lines (the replay format)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO

from aiops.telemetry.models import Span
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import COLUMNS

# What a span record carries: the stored columns, stack traces aside.
FIELDS = tuple(column for column in COLUMNS if column != "stack_trace")


def export_spans(
    out: IO[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service: str | None = None,
    endpoint: str | None = None,
) -> int:
    spans = Span.objects.order_by("start_time", "id")
    if since is not None:
        spans = spans.filter(start_time__gte=since)
    if until is not None:
        spans = spans.filter(start_time__lt=until)
    if service:
        spans = spans.filter(service=service)
    if endpoint:
        spans = spans.filter(endpoint=endpoint)
    count = 0
    for row in spans.values_list(*FIELDS).iterator(chunk_size=5000):
        record = SpanRecord(**dict(zip(FIELDS, row, strict=True)))
        out.write(json.dumps(record.to_json_dict()) + "\n")
        count += 1
    return count
