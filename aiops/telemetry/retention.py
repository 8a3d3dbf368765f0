"""Deleting old telemetry in bounded batches.

Spans older than ``AIOPS_RETENTION_DAYS`` go, a few thousand rows per statement
and per transaction, so that neither SQLite's write lock nor PostgreSQL's row locks
are held for long and the span writers keep writing in between. Spans of traces
that an active incident points to are kept: they are its evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from aiops.telemetry.models import Span
from aiops.telemetry.store import span_database

BATCH = 5_000


@dataclass
class PruneResult:
    deleted: int = 0
    batches: int = 0
    kept_as_evidence: int = 0


def prune_spans(
    *,
    before: datetime,
    keep_traces: Iterable[str] = (),
    batch_size: int = BATCH,
    after: datetime | None = None,
) -> PruneResult:
    """Delete spans that started before ``before`` (or after ``after``: a time
    no real span can have, stored before future spans were refused), except
    those of ``keep_traces``."""
    keep = sorted(set(keep_traces))
    result = PruneResult()
    old = Span.objects.filter(start_time__lt=before)
    if after is not None:
        old = Span.objects.filter(Q(start_time__lt=before) | Q(start_time__gt=after))
    if keep:
        result.kept_as_evidence = old.filter(trace_id__in=keep).count()
        old = old.exclude(trace_id__in=keep)
    while True:
        with transaction.atomic(using=span_database()):
            # One bounded subquery per batch: never an IN list built in Python.
            ids = old.order_by("id").values("id")[:batch_size]
            deleted, _ = Span.objects.filter(id__in=ids).delete()
        if not deleted:
            break
        result.deleted += deleted
        result.batches += 1
    return result
