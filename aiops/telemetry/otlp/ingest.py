"""Storing an OTLP export: decode, map, insert (duplicates stored once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError

from aiops.conf import settings
from aiops.telemetry import counters
from aiops.telemetry.cardinality import endpoint_names
from aiops.telemetry.otlp.decoding import OtlpError, decode, decompress
from aiops.telemetry.otlp.mapping import map_request
from aiops.telemetry.store import insert_spans


@dataclass
class IngestResult:
    accepted: int
    rejected: int
    reasons: list[str]


_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _ingest_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(settings.AIOPS_OTLP_MAX_CONCURRENT)
        return _slots


@contextmanager
def ingest_slot() -> Iterator[None]:
    """One of the process's ``AIOPS_OTLP_MAX_CONCURRENT`` exports in progress.

    Taken before the body is read: a client that sends its body slowly, or many
    clients sending big ones, hold at most that many threads and that much
    memory; the others are told to retry (429) before anything is read.
    """
    slots = _ingest_slots()
    if not slots.acquire(blocking=False):
        raise OtlpError(429, "too many exports in progress; retry later")
    try:
        yield
    finally:
        slots.release()


def ingest(
    body: bytes,
    *,
    kind: str,
    encoding: str,
    now: datetime,
    may_write: Callable[[str], str | None],
) -> IngestResult:
    """Store the spans of one export request (call it holding an ``ingest_slot``).

    Written before the response, in one transaction, so a 200 means stored: an
    exporter that gets a 429/503 retries, and a retried span is stored once.
    """
    data = decompress(body, encoding, settings.AIOPS_OTLP_MAX_BYTES)
    mapped = map_request(
        decode(data, kind),
        now=now,
        max_skew=settings.AIOPS_OTLP_MAX_CLOCK_SKEW,
        may_write=may_write,
        admit=endpoint_names.admit,
    )
    try:
        insert_spans(mapped.records)
    except DatabaseError as exc:
        raise OtlpError(
            503, f"telemetry storage unavailable ({type(exc).__name__})"
        ) from None
    counters.add("otlp_accepted", len(mapped.records))
    counters.add("otlp_rejected", mapped.rejected)
    counters.add("otlp_overflowed", mapped.overflowed)
    return IngestResult(len(mapped.records), mapped.rejected, mapped.reasons)
