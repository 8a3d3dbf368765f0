"""This process's telemetry counters, and their totals across every process.

Each web worker counts what it wrote, dropped and ingested; its writer thread
stores those counts in a row of its own now and then, so that /metrics, served
by whichever worker, can add up every process (counts of exited processes stay
in the total, as counters must).
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.db.models import F

from aiops.telemetry.models import ProcessStats

NAMES = ("otlp_accepted", "otlp_rejected", "otlp_overflowed", "telemetry_failures")
_lock = threading.Lock()
_counts = dict.fromkeys(NAMES, 0)
_last_persisted: dict | None = None
_last_persisted_at: datetime | None = None
# Under load the writer wakes twice a second; storing the row each time cost more
# than the spans it had just written (an upsert is a transaction of its own).
PERSIST_EVERY = timedelta(seconds=5)
_HOST = socket.gethostname()[:100]


def add(name: str, amount: int = 1) -> None:
    with _lock:
        _counts[name] += amount


def snapshot() -> dict[str, int]:
    """This process: its own counters plus its span writer's."""
    from aiops.telemetry.writer import get_writer

    writer = get_writer().snapshot()
    with _lock:
        values = dict(_counts)
    values.update(
        spans_written=int(writer["written"]),
        spans_dropped=int(writer["dropped"]),
        queued=int(writer["queued"]),
    )
    return values


def persist(now: datetime, *, force: bool = False) -> None:
    """Store this process's counts if they changed (called by the writer thread).

    At most every PERSIST_EVERY unless ``force`` (a flush someone waits for, or
    the process stopping), so other processes' /metrics lag by seconds at most.
    """
    global _last_persisted, _last_persisted_at
    if (
        not force
        and _last_persisted_at is not None
        and now - _last_persisted_at < PERSIST_EVERY
    ):
        return
    values = snapshot()
    if values == _last_persisted:
        return
    try:
        stored = ProcessStats.objects.filter(host=_HOST, pid=os.getpid()).update(
            **values, updated_at=now
        )
        if not stored:
            ProcessStats.objects.create(
                host=_HOST, pid=os.getpid(), **values, updated_at=now
            )
    except DatabaseError:
        return  # the next flush tries again
    _last_persisted, _last_persisted_at = values, now


def totals(now: datetime, *, fresh_for: float = 60.0) -> dict[str, int]:
    """Counters summed over every process; the queue gauge over live ones only."""
    values = snapshot()
    rows = ProcessStats.objects.exclude(host=_HOST, pid=os.getpid())
    for row in rows:
        for name in ("spans_written", "spans_dropped", *NAMES):
            values[name] += getattr(row, name)
        if row.updated_at >= now - timedelta(seconds=fresh_for):
            values["queued"] += row.queued
    return values


def count_lost(*, host: str, pid: int) -> int:
    """A process that died without flushing (killed): the spans it last reported
    queued are lost. Count them as dropped; returns how many. Called by the web
    server's master for each worker that exits (a clean exit flushed first and
    reported an empty queue, so this is then 0). Approximate by the reporting
    interval: spans queued after the last report are not known to anyone."""
    row = ProcessStats.objects.filter(host=host, pid=pid).first()
    if row is None or row.queued <= 0:
        return 0
    lost = row.queued
    ProcessStats.objects.filter(pk=row.pk).update(
        spans_dropped=F("spans_dropped") + lost, queued=0
    )
    return lost
