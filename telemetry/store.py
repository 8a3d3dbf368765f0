"""Bulk writes of span records: the one way spans reach the database."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, transaction

from telemetry.models import Span
from telemetry.records import SpanRecord

_COLUMNS = (
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


def _insert_sql(table: str, quote) -> str:
    columns = ", ".join(quote(column) for column in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    # A re-delivered (trace_id, span_id) is skipped, not an error: OTLP exporters
    # retry, and a batch must not fail because one span in it was seen before.
    return (
        f"INSERT INTO {quote(table)} ({columns}) VALUES ({placeholders}) "
        "ON CONFLICT DO NOTHING"
    )


def insert_spans(records: Sequence[SpanRecord], *, using: str = "default") -> int:
    """Insert records in one transaction; returns how many were offered.

    Plain ``executemany`` rather than ``bulk_create``: no model instances, a fraction
    of the CPU per row, and the same statement on SQLite and PostgreSQL.
    """
    if not records:
        return 0
    connection = connections[using]
    adapt = connection.ops.adapt_datetimefield_value
    sql = _insert_sql(Span._meta.db_table, connection.ops.quote_name)
    rows = [
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
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)
