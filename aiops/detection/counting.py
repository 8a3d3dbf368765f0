"""Cumulative per-endpoint counters for /metrics, counted in SQL by span id.

Counting by id rather than by start time catches spans that arrive late (an
exporter's batch, a backfill) exactly once. Ids are taken one cycle behind the
newest one, so that a transaction that took its ids earlier but committed later
is never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Q, Sum

from aiops.detection.core.types import EndpointKey
from aiops.detection.core.window import ENDPOINT_KINDS
from aiops.telemetry.models import Span

# Upper bounds (ms) of the latency histogram buckets; +Inf is implied.
HISTOGRAM_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    duration_sum_ms: float = 0.0
    # Cumulative counts: at or below each bound, then all of them (+Inf).
    buckets: list[int] = field(
        default_factory=lambda: [0] * (len(HISTOGRAM_BOUNDS_MS) + 1)
    )

    def add(self, other: Tally) -> Tally:
        mine = self.buckets or [0] * len(other.buckets)
        return Tally(
            self.requests + other.requests,
            self.errors + other.errors,
            self.duration_sum_ms + other.duration_sum_ms,
            [a + b for a, b in zip(mine, other.buckets, strict=True)],
        )


def newest_span_id() -> int:
    return Span.objects.aggregate(newest=Max("id"))["newest"] or 0


def count_spans(
    *, after_id: int, upto_id: int, since: datetime | None = None
) -> dict[EndpointKey, Tally]:
    """Tallies of endpoint spans with ids in (after_id, upto_id].

    ``since`` is for the very first count, when nothing was counted yet: it counts
    the spans up to ``upto_id`` that started after ``since`` instead, so that
    installing on top of a large history does not scan all of it.
    """
    if upto_id <= after_id:
        return {}
    spans = Span.objects.filter(id__lte=upto_id, kind__in=ENDPOINT_KINDS)
    if since is None:
        spans = spans.filter(id__gt=after_id)
    else:
        # Read through the start-time index. Asking for the smallest recent id
        # instead lets both planners walk the primary key from the oldest span (the
        # whole history: seconds at 20 M spans), and given only a lower time bound,
        # SQLite without ANALYZE statistics scans the whole (service, endpoint,
        # start) index for its GROUP BY order. The upper bound, the newest start
        # time, leaves no span out; it makes the range one an index serves.
        latest = Span.objects.aggregate(latest=Max("start_time"))["latest"]
        spans = spans.filter(start_time__gt=since, start_time__lte=latest or since)
    buckets = {
        f"le{n}": Count("id", filter=Q(duration_ms__lte=bound))
        for n, bound in enumerate(HISTOGRAM_BOUNDS_MS)
    }
    rows = spans.values("service", "endpoint").annotate(
        requests=Count("id"),
        errors=Count("id", filter=Q(is_error=True)),
        duration_sum=Sum("duration_ms"),
        **buckets,
    )
    return {
        EndpointKey(row["service"], row["endpoint"]): Tally(
            row["requests"],
            row["errors"],
            row["duration_sum"] or 0.0,
            [row[f"le{n}"] for n in range(len(HISTOGRAM_BOUNDS_MS))]
            + [row["requests"]],
        )
        for row in rows
    }
