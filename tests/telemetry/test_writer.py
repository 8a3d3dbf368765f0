"""The batching writer with its real thread and real database connections."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from aiops.telemetry.models import Span
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_spans
from aiops.telemetry.writer import SpanWriter

pytestmark = pytest.mark.django_db(transaction=True)


def record(n: int, **overrides) -> SpanRecord:
    fields = dict(
        service="shop",
        endpoint="payment",
        start_time=datetime(2026, 1, 20, 10, 30, n % 60, tzinfo=UTC),
        duration_ms=100.0 + n,
        status_code=200,
        trace_id=f"{n:032x}",
        span_id=f"{n + 1:016x}",
    )
    fields.update(overrides)
    return SpanRecord(**fields)


def make_writer(**overrides) -> SpanWriter:
    options = dict(queue_size=10_000, batch_size=100, flush_interval=0.05)
    options.update(overrides)
    return SpanWriter(**options)


def test_batches_are_written_and_flush_waits_for_them():
    writer = make_writer()
    try:
        for n in range(1, 251):
            assert writer.submit(record(n))
        assert writer.flush(timeout=10)
    finally:
        writer.stop()

    assert Span.objects.count() == 250
    stats = writer.snapshot()
    assert stats["written"] == 250 and stats["dropped"] == 0 and stats["queued"] == 0


def test_stop_writes_what_is_still_queued():
    writer = make_writer(flush_interval=5.0)
    for n in range(1, 11):
        writer.submit(record(n))

    writer.stop()

    assert Span.objects.count() == 10


def test_a_full_batch_is_written_at_once_and_a_partial_one_at_the_tick():
    writer = make_writer(batch_size=50, flush_interval=60.0)
    try:
        for n in range(1, 61):
            assert writer.submit(record(n))
        deadline = time.monotonic() + 10
        while Span.objects.count() < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The batch went without waiting a minute for the tick; the ten after it
        # wait (for the next batch, the tick or a flush) rather than cost a
        # transaction of their own.
        assert Span.objects.count() == 50
        assert writer.flush(timeout=10)
        assert Span.objects.count() == 60
    finally:
        writer.stop()


def test_a_forked_process_starts_a_writer_thread_of_its_own():
    # gunicorn forks its workers; the parent's thread does not exist in a child.
    writer = make_writer()
    writer.submit(record(1))
    assert writer.flush(timeout=10)

    pid = os.fork()
    if pid == 0:
        try:
            writer.submit(record(2))
            os._exit(0 if writer.flush(timeout=10) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    writer.submit(record(3))
    writer.stop()

    assert os.waitstatus_to_exitcode(status) == 0
    stored = sorted(Span.objects.values_list("duration_ms", flat=True))
    assert stored == [101.0, 102.0, 103.0]


@contextmanager
def span_table_locked():
    """Hold the write lock on the span table, as a long transaction elsewhere would."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("LOCK TABLE telemetry_span IN SHARE ROW EXCLUSIVE MODE")
            else:
                # transaction_mode IMMEDIATE: BEGIN already took SQLite's write lock.
                cursor.execute("SELECT 1")
        yield


def test_locked_database_fills_the_queue_then_drops_and_counts():
    writer = make_writer(queue_size=5, batch_size=1)
    with span_table_locked():
        # The writer thread takes at most one span and then waits on the lock, so
        # the queue holds 5 and everything after that is dropped.
        results = [writer.submit(record(n)) for n in range(1, 102)]
    writer.stop()

    accepted = sum(results)
    stats = writer.snapshot()
    assert 5 <= accepted <= 6
    assert stats["dropped"] == 101 - accepted
    assert Span.objects.count() == accepted == stats["written"]


def test_database_failure_drops_the_batch_and_recovers():
    writer = make_writer()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE telemetry_span RENAME TO telemetry_span_away")
    try:
        writer.submit(record(1))
        writer.submit(record(2))
        writer.flush(timeout=10)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE telemetry_span_away RENAME TO telemetry_span")
    writer.submit(record(3))
    writer.stop()

    stats = writer.snapshot()
    assert stats["dropped"] == 2 and stats["failed_batches"] >= 1
    assert "telemetry_span" in stats["last_error"]
    assert list(Span.objects.values_list("duration_ms", flat=True)) == [103.0]


def test_redelivered_span_is_stored_once():
    insert_spans([record(1), record(1), record(2)])
    insert_spans([record(1)])

    assert Span.objects.count() == 2


def test_spans_without_ids_are_all_kept():
    insert_spans([record(1, trace_id=None, span_id=None) for _ in range(3)])

    assert Span.objects.count() == 3
