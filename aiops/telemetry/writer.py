"""The batching span writer: requests append, one thread per process inserts.

A request never waits for the database: ``submit`` is an append to a bounded
in-memory buffer. A background thread wakes when a batch (``batch_size`` spans) is
waiting, or every ``flush_interval`` (or when asked to flush), and inserts each
batch in one transaction with multi-row statements, which is what keeps SQLite from
serialising requests behind its write lock. When the buffer is full or the database
keeps failing, spans are dropped and counted, never raised to the request.

Writing by batch rather than by clock bounds each burst of the writer's work
whatever the request rate: every 0.5 s at 2,400 requests/s a worker's writer spent
about 7 ms at once, and requests that arrived meanwhile waited for the CPU or the
GIL (bench/perf/README.md).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone

from aiops.conf import settings
from aiops.telemetry import counters
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.store import insert_rows, row_of, span_database

logger = logging.getLogger(__name__)

# Seconds to wait before each retry of a failed batch; then the batch is dropped.
RETRY_DELAYS = (0.05, 0.25, 1.0)


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0
    failed_batches: int = 0
    last_error: str = ""


class SpanWriter:
    def __init__(
        self,
        *,
        queue_size: int,
        batch_size: int,
        flush_interval: float,
        insert: Callable[[Sequence[tuple]], int] | None = None,
    ) -> None:
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        # Spans of this process carry fresh random ids: no duplicate check needed.
        self._insert = insert or (lambda rows: insert_rows(rows, dedupe=False))
        self._lock = threading.Lock()
        self.stats = WriterStats()
        # Whether this process has started the thread: a fork resets it (see
        # _after_fork), so submitting never asks the kernel for the pid.
        self._started = False
        # Rows (telemetry.store.row_of), not records: see row_of for why.
        # deque.append and popleft are atomic: producers take no lock at all.
        self._buffer: deque[tuple] = deque()
        self._wake = threading.Event()
        self._flush_waiters: list[threading.Event] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        _writers.add(self)

    # -- producer side -------------------------------------------------------------
    def submit(self, record: SpanRecord) -> bool:
        """Buffer one record; False (and counted) when it had to be dropped."""
        return self.submit_row(row_of(record))

    def submit_row(self, row: tuple) -> bool:
        """``submit`` for a row made by telemetry.store (row_of, server_row)."""
        if not self._started:
            self._start()
        queued = len(self._buffer)
        if queued >= self.queue_size:
            self._count_dropped(1)
            return False
        self._buffer.append(row)
        # ">=", not "==": with threaded workers two submits can read the same
        # length and step over the exact count. is_set() is an attribute read, so
        # the writer is woken once per batch, not once per span.
        if queued + 1 >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def write_now(self, rows: Sequence[tuple]) -> bool:
        """Synchronous path (tests, ``AIOPS_TELEMETRY_SYNC``): insert in the caller."""
        return self._write_batch(list(rows), retries=())

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything buffered before this call is written (or dropped)."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def snapshot(self) -> dict[str, int | str]:
        with self._lock:
            return {
                "written": self.stats.written,
                "dropped": self.stats.dropped,
                "failed_batches": self.stats.failed_batches,
                "queued": len(self._buffer),
                "last_error": self.stats.last_error,
            }

    # -- consumer side -------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            # First use in this process (gunicorn forks workers after import): the
            # parent's thread and buffer do not exist here.
            self._buffer = deque()
            self._flush_waiters = []
            self._wake = threading.Event()
            self._stopping = threading.Event()
            self._thread = threading.Thread(
                target=self._run, name="aiops-span-writer", daemon=True
            )
            self._started = True
            self._thread.start()

    def _after_fork(self) -> None:
        # The child has the parent's memory but not its thread: the next span
        # submitted starts one (with a fresh buffer, in _start), and flush or stop
        # before that have nothing to wait for. A lock some parent thread held at
        # the fork would stay held here for ever.
        self._lock = threading.Lock()
        self._thread = None
        self._started = False

    def _run(self) -> None:
        # The thread keeps the process's priority. Niced, it was preempted while
        # holding the GIL, and the request thread of its process then waited for it
        # (bench/perf/README.md: +2.1 to +2.4 ms at p99 under a paced load, against
        # +0.7 to +1.0 at the same priority).
        try:
            while True:
                woken = self._wake.wait(self.flush_interval)
                self._wake.clear()
                stopping = self._stopping.is_set()
                with self._lock:
                    waiters, self._flush_waiters = self._flush_waiters, []
                # Woken by a full batch, the writer leaves what does not fill one for
                # the next batch or the next tick: a transaction of a few spans would
                # cost a commit of its own.
                self._drain(whole=not woken or bool(waiters) or stopping)
                if self is _writer:
                    counters.persist(timezone.now(), force=bool(waiters) or stopping)
                for waiter in waiters:
                    waiter.set()
                if stopping:
                    return
        finally:
            connections.close_all()

    def _drain(self, *, whole: bool) -> None:
        """Write what is buffered, batch by batch; unless ``whole``, full ones only."""
        buffer = self._buffer
        while buffer and (whole or len(buffer) >= self.batch_size):
            batch = []
            pop = buffer.popleft
            try:
                while len(batch) < self.batch_size:
                    batch.append(pop())
            except IndexError:
                pass
            self._write_batch(batch, retries=RETRY_DELAYS)

    def _count_dropped(self, count: int, error: str = "") -> None:
        with self._lock:
            self.stats.dropped += count
            if error:
                self.stats.failed_batches += 1
                self.stats.last_error = error[:300]

    def _write_batch(self, batch: list[tuple], *, retries: Sequence[float]) -> bool:
        attempt = 0
        while True:
            try:
                self._insert(batch)
            except Exception as exc:  # noqa: BLE001 - the database can fail in any way
                # A broken connection must not poison the next attempt; inside a
                # caller's transaction (sync mode) the savepoint already undid it.
                connection = connections[span_database()]
                if not connection.in_atomic_block:
                    connection.close()
                if attempt < len(retries):
                    time.sleep(retries[attempt])
                    attempt += 1
                    continue
                self._count_dropped(len(batch), f"{type(exc).__name__}: {exc}")
                logger.warning("Dropped %d spans: %s", len(batch), exc)
                return False
            with self._lock:
                self.stats.written += len(batch)
            return True


_writer: SpanWriter | None = None
_writer_lock = threading.Lock()
_writers: weakref.WeakSet[SpanWriter] = weakref.WeakSet()


def _forget_threads_after_fork() -> None:
    for writer in list(_writers):
        writer._after_fork()


os.register_at_fork(after_in_child=_forget_threads_after_fork)


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
    return record_row(row_of(record))


def record_row(row: tuple) -> bool:
    """``record_span`` for a row made by telemetry.store (the middleware's path)."""
    writer = get_writer()
    if settings.AIOPS_TELEMETRY_SYNC:
        return writer.write_now([row])
    return writer.submit_row(row)
