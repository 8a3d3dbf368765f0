"""Writing what a cycle learned: baselines with their counters, call edges."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops.bulk import update_rows
from aiops.conf import settings
from aiops.detection.config import DetectionConfig
from aiops.detection.core import seasonal
from aiops.detection.core.analyze import CycleResult
from aiops.detection.core.types import Baseline, EndpointKey
from aiops.detection.counting import Tally
from aiops.detection.models import (
    DependencyEdge,
    EndpointBaseline,
    EndpointRollup,
    SeasonalSlot,
)
from aiops.detection.selectors import admitted, to_datetime
from aiops.telemetry.cardinality import OVERFLOW

_BASELINE_FIELDS = [
    "log_level",
    "log_anchor",
    "log_spread",
    "tail_fraction",
    "error_rate",
    "request_rate",
    "self_time_ms",
    "sample_count",
    "moment_count",
    "cycle_mean",
    "cycle_var",
    "cycle_count",
    "recent_medians",
    "recent_counts",
    "within_var",
    "busy_cycles",
    "query_level",
    "query_samples",
    "series",
    "learned_at",
    "last_seen",
    "suspicious_since",
]
_COUNTER_FIELDS = [
    "requests_total",
    "errors_total",
    "duration_sum_ms",
    "duration_buckets",
]
# Seconds an endpoint that never learned enough requests may stay idle.
IDLE_UNLEARNED = 3600.0
# Edge rates follow the traffic at this weight per cycle.
EDGE_ALPHA = 0.1


def _row_values(baseline: Baseline) -> dict:
    values = {name: getattr(baseline, name) for name in _BASELINE_FIELDS}
    for name in ("learned_at", "last_seen"):
        values[name] = to_datetime(values[name]) if values[name] else None
    return values


def _count(row: EndpointBaseline, counts: Tally | None) -> None:
    if counts is None:
        return
    total = Tally(
        row.requests_total,
        row.errors_total,
        row.duration_sum_ms,
        list(row.duration_buckets),
    ).add(counts)
    row.requests_total, row.errors_total = total.requests, total.errors
    row.duration_sum_ms, row.duration_buckets = total.duration_sum_ms, total.buckets


def _idle(baseline: Baseline, now: float, config: DetectionConfig) -> bool:
    """Not seen for long: an endpoint that never learned 20 requests (a one-off
    name, a typo, a flood of made-up ones) after an hour or the look-back, any
    other after the retention period or the seasonal history's days, whichever
    is longer. A weekly job (or an endpoint used on one day of the week) is
    idle for about a week between runs: it keeps what it learned, as the
    seasonal history relative to its level is kept."""
    if baseline.last_seen is None:
        return False
    if not baseline.knows_enough(config.min_baseline_samples):
        horizon = max(config.lookback, IDLE_UNLEARNED)
    else:
        days = max(settings.AIOPS_RETENTION_DAYS, seasonal.HISTORY_DAYS)
        horizon = days * seasonal.DAY_SECONDS
    return now - baseline.last_seen > horizon


def save_baselines(
    baselines: dict[EndpointKey, Baseline],
    tallies: dict[EndpointKey, Tally],
    *,
    now: float | None = None,
    config: DetectionConfig | None = None,
) -> int:
    """Store what the cycle learned; drop idle baselines (their names free room
    under the caps). Returns how many were dropped."""
    rows = {
        EndpointKey(row.service, row.endpoint): row
        for row in EndpointBaseline.objects.all()
    }
    idle = (
        {key for key, b in baselines.items() if _idle(b, now, config)}
        if now is not None and config is not None
        else set()
    )
    if idle:
        EndpointBaseline.objects.filter(
            pk__in=[rows[k].pk for k in idle if k in rows]
        ).delete()
        baselines = {k: b for k, b in baselines.items() if k not in idle}
    changed, created = [], []
    # A late span of an endpoint not seen in this window still counts (under
    # (other) if its name is one too many).
    unseen = {key: t.requests for key, t in tallies.items()}
    unseen = {k: n for k, n in unseen.items() if k not in baselines and k not in rows}
    if unseen:
        fits = admitted(unseen, set(rows) | set(baselines))
        for key in unseen:
            target = key if key in fits else EndpointKey(key.service, OVERFLOW)
            if target != key:
                tallies = {
                    **tallies,
                    target: tallies.get(target, Tally()).add(tallies[key]),
                }
            if target not in baselines and target not in rows:
                baselines = {**baselines, target: Baseline(key=target)}
    for key, baseline in baselines.items():
        row = rows.get(key)
        if row is None:
            row = EndpointBaseline(service=key.service, endpoint=key.endpoint)
            created.append(row)
        else:
            changed.append(row)
        for name, value in _row_values(baseline).items():
            setattr(row, name, value)
        _count(row, tallies.get(key))
    EndpointBaseline.objects.bulk_create(created, batch_size=500)
    update_rows(changed, _BASELINE_FIELDS + _COUNTER_FIELDS)
    return len(idle)


def _ewma(old: float | None, new: float) -> float:
    return new if old is None else old + EDGE_ALPHA * (new - old)


def save_calls(result: CycleResult, now: datetime) -> None:
    """Totals and recent rates of every edge; edges without calls decay to 0/s,
    and go once unused for the retention period."""
    DependencyEdge.objects.filter(
        last_seen__lt=now - timedelta(days=settings.AIOPS_RETENTION_DAYS)
    ).delete()
    edges = {
        (
            EndpointKey(e.caller_service, e.caller_endpoint),
            EndpointKey(e.callee_service, e.callee_endpoint),
        ): e
        for e in DependencyEdge.objects.all()
    }
    created = []
    for caller, callee in result.calls:
        if (caller, callee) not in edges:
            edge = DependencyEdge(
                caller_service=caller.service,
                caller_endpoint=caller.endpoint,
                callee_service=callee.service,
                callee_endpoint=callee.endpoint,
                first_seen=now,
                last_seen=now,
            )
            edges[(caller, callee)] = edge
            created.append(edge)
    for pair, edge in edges.items():
        stats = result.calls.get(pair)
        calls = stats.calls if stats else 0
        if result.elapsed > 0:
            edge.call_rate = _ewma(edge.call_rate, calls / result.elapsed)
        if (sample := result.call_samples.get(pair)) is not None:
            edge.usual_calls = _ewma(edge.usual_calls, sample[0])
            edge.usual_requests = _ewma(edge.usual_requests, sample[1])
        if not stats:
            continue
        previous = edge.call_count
        edge.call_count += stats.calls
        edge.error_count += stats.errors
        edge.error_rate = _ewma(edge.error_rate, stats.errors / stats.calls)
        edge.latency_ms = _ewma(edge.latency_ms, stats.latency_total_ms / stats.calls)
        # A running mean that settles: the order of calls rarely changes.
        edge.offset_ms = (
            stats.offset_ms
            if edge.offset_ms is None
            else (edge.offset_ms * previous + stats.offset_total_ms) / edge.call_count
        )
        if stats.client_endpoint:
            edge.client_endpoint, edge.peer = stats.client_endpoint, stats.peer
        if stats.gap_calls:
            gap = stats.gap_total_ms / stats.gap_calls
            if edge.gap_ms is None:
                edge.gap_ms = gap
            elif gap <= 2 * edge.gap_ms + 5:  # a slow hop is not learned as usual
                edge.gap_ms += 0.05 * (gap - edge.gap_ms)
        edge.last_seen = now
    DependencyEdge.objects.bulk_create(created)
    update_rows(
        [e for e in edges.values() if e.pk is not None and e not in created],
        [
            "call_count",
            "error_count",
            "call_rate",
            "usual_calls",
            "usual_requests",
            "error_rate",
            "latency_ms",
            "offset_ms",
            "client_endpoint",
            "peer",
            "gap_ms",
            "last_seen",
        ],
    )


def save_rollups(result: CycleResult, now: datetime) -> None:
    EndpointRollup.objects.bulk_create(
        [
            EndpointRollup(
                service=key.service,
                endpoint=key.endpoint,
                at=now,
                seconds=result.elapsed,
                requests=summary.requests,
                errors=summary.errors,
                p50_ms=summary.p50_ms,
                p95_ms=summary.p95_ms,
                p99_ms=summary.p99_ms,
                baseline_ms=summary.baseline_ms,
                threshold_ms=summary.threshold_ms,
            )
            for key, summary in result.summaries.items()
        ],
        batch_size=500,
    )


def save_season(result: CycleResult, now: float) -> None:
    """Add the cycle's slot observations to the endpoints' seasonal history (one
    read and at most two bulk writes), and forget days older than it keeps."""
    today, _ = seasonal.day_and_slot(now)
    SeasonalSlot.objects.filter(day__lt=today - seasonal.HISTORY_DAYS).delete()
    wanted = {
        (key.service, key.endpoint, o.day, o.slot): o
        for key, observations in result.seasonal.items()
        for o in observations
        if o.day >= today - seasonal.HISTORY_DAYS
    }
    if not wanted:
        return
    pairs = {(day, slot) for _, _, day, slot in wanted}
    existing = {}
    for day, slot in pairs:
        for row in SeasonalSlot.objects.filter(day=day, slot=slot):
            existing[(row.service, row.endpoint, row.day, row.slot)] = row
    changed, created = [], []
    for identity, observation in wanted.items():
        row = existing.get(identity)
        if row is None:
            service, endpoint, day, slot = identity
            row = SeasonalSlot(service=service, endpoint=endpoint, day=day, slot=slot)
            created.append(row)
        else:
            changed.append(row)
        if observation.offset is not None:
            row.cycles += 1
            row.offset_sum += observation.offset
        row.requests += observation.requests
        row.errors += observation.errors
        row.seconds = min(row.seconds + observation.seconds, seasonal.SLOT_SECONDS)
    SeasonalSlot.objects.bulk_create(created, batch_size=500)
    update_rows(changed, ["cycles", "offset_sum", "requests", "errors", "seconds"])
