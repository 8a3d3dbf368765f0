"""Bulk writes of span records: the one way spans reach the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.db import connections, transaction

from telemetry.models import Span
from telemetry.records import SpanRecord

COLUMNS = (
    "service",
    "endpoint",
    "kind",
    "method",
    "status_code",
    "duration_ms",
    "start_time",
    "trace_id",
    "span_id",
    "parent_span_id",
    "is_error",
    "error_type",
    "error_message",
    "stack_trace",
    "peer",
)


def _sqlite_time(moment: datetime) -> str:
    # What Django's SQLite backend stores (naive UTC, str()), without its per-value
    # time-zone machinery: this runs once per span.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return str(moment.replace(tzinfo=None))


def _rows(records: Sequence[SpanRecord], vendor: str) -> list[tuple]:
    adapt = _sqlite_time if vendor == "sqlite" else (lambda moment: moment)
    return [
        (
            r.service,
            r.endpoint,
            r.kind,
            r.method,
            r.status_code,
            r.duration_ms,
            adapt(r.start_time),
            r.trace_id,
            r.span_id,
            r.parent_span_id,
            r.is_error,
            r.error_type,
            r.error_message,
            r.stack_trace,
            r.peer,
        )
        for r in records
    ]


def insert_spans(
    records: Sequence[SpanRecord], *, using: str = "default", dedupe: bool = True
) -> int:
    """Insert records in one transaction; returns how many were offered.

    With ``dedupe`` a re-delivered (trace_id, span_id) is skipped rather than an
    error: OTLP exporters retry, and a batch must not fail because one span in it
    was seen before. Spans this app just created (fresh random ids) skip that check,
    which lets PostgreSQL take them by COPY, its fastest path.
    """
    if not records:
        return 0
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(Span._meta.db_table)
    columns = ", ".join(quote(column) for column in COLUMNS)
    rows = _rows(records, connection.vendor)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not dedupe:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
    return len(rows)
