"""The batching span writer: requests enqueue, one thread per process inserts.

A request never waits for the database: ``submit`` is a non-blocking put on a
bounded queue. A background thread drains it in batches (by size or after
``flush_interval``) with one multi-row INSERT per batch, which is what keeps SQLite
from serialising every request behind a write lock. When the queue is full or the
database keeps failing, spans are dropped and counted, never raised to the request.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connections

from telemetry.records import SpanRecord
from telemetry.store import insert_spans

logger = logging.getLogger(__name__)

# Seconds to wait before each retry of a failed batch; then the batch is dropped.
RETRY_DELAYS = (0.05, 0.25, 1.0)


@dataclass
class WriterStats:
    submitted: int = 0
    written: int = 0
    dropped: int = 0
    failed_batches: int = 0
    last_error: str = ""

    def as_dict(self, queued: int) -> dict[str, int | str]:
        return {
            "submitted": self.submitted,
            "written": self.written,
            "dropped": self.dropped,
            "failed_batches": self.failed_batches,
            "queued": queued,
            "last_error": self.last_error,
        }


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class SpanWriter:
    def __init__(
        self,
        *,
        queue_size: int,
        batch_size: int,
        flush_interval: float,
        insert: Callable[[Sequence[SpanRecord]], int] = insert_spans,
    ) -> None:
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._insert = insert
        self._lock = threading.Lock()
        self.stats = WriterStats()
        self._pid = -1
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- producer side -------------------------------------------------------------
    def submit(self, record: SpanRecord) -> bool:
        """Queue one record; False (and counted) when it had to be dropped."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            with self._lock:
                self.stats.submitted += 1
                self.stats.dropped += 1
            return False
        with self._lock:
            self.stats.submitted += 1
        return True

    def write_now(self, records: Sequence[SpanRecord]) -> bool:
        """Synchronous path (tests, ``AIOPS_TELEMETRY_SYNC``): insert in the caller."""
        with self._lock:
            self.stats.submitted += len(records)
        return self._write_batch(list(records), retries=())

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is written (or dropped)."""
        if (
            self._thread is None
            or not self._thread.is_alive()
            or self._pid != os.getpid()
        ):
            return True
        marker = _FlushMarker()
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._stopping.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
        self._thread = None

    def snapshot(self) -> dict[str, int | str]:
        with self._lock:
            return self.stats.as_dict(self._queue.qsize())

    # -- consumer side -------------------------------------------------------------
    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None:
            return
        with self._lock:
            if self._pid == pid and self._thread is not None:
                return
            # First use in this process (gunicorn forks workers after import): the
            # parent's thread and queue do not exist here.
            self._pid = pid
            self._queue = queue.Queue(maxsize=self.queue_size)
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run, name="aiops-span-writer", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._drain_once()
        finally:
            connections.close_all()

    def _drain_once(self) -> None:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return
        batch: list[SpanRecord] = []
        markers: list[_FlushMarker] = []
        deadline = time.monotonic() + self.flush_interval
        item = first
        while True:
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break
            batch.append(item)
            if len(batch) >= self.batch_size:
                break
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else (self._queue.get_nowait())
                )
            except queue.Empty:
                break
        if batch:
            self._write_batch(batch, retries=RETRY_DELAYS)
        for marker in markers:
            marker.done.set()

    def _write_batch(
        self, batch: list[SpanRecord], *, retries: Sequence[float]
    ) -> bool:
        attempt = 0
        while True:
            try:
                self._insert(batch)
            except Exception as exc:  # noqa: BLE001 - the database can fail in any way
                # A broken connection must not poison the next attempt; inside a
                # caller's transaction (sync mode) the savepoint already undid it.
                connection = connections["default"]
                if not connection.in_atomic_block:
                    connection.close()
                if attempt < len(retries):
                    time.sleep(retries[attempt])
                    attempt += 1
                    continue
                with self._lock:
                    self.stats.dropped += len(batch)
                    self.stats.failed_batches += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                logger.warning("Dropped %d spans: %s", len(batch), exc)
                return False
            with self._lock:
                self.stats.written += len(batch)
            return True


_writer: SpanWriter | None = None
_writer_lock = threading.Lock()


def get_writer() -> SpanWriter:
    global _writer
    if _writer is None:
        with _writer_lock:
            if _writer is None:
                _writer = SpanWriter(
                    queue_size=settings.AIOPS_TELEMETRY_QUEUE_SIZE,
                    batch_size=settings.AIOPS_TELEMETRY_BATCH_SIZE,
                    flush_interval=settings.AIOPS_TELEMETRY_FLUSH_INTERVAL,
                )
                atexit.register(_writer.stop)
    return _writer


def record_span(record: SpanRecord) -> bool:
    """Hand one finished span to storage, honouring ``AIOPS_TELEMETRY_SYNC``."""
    writer = get_writer()
    if settings.AIOPS_TELEMETRY_SYNC:
        return writer.write_now([record])
    return writer.submit(record)
