"""Reads that turn stored rows into the detection core's plain data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from django.db.models import Case, Value, When
from django.db.models.functions import Left

from aiops.conf import settings
from aiops.detection.config import DetectionConfig
from aiops.detection.core import baseline as baselines_
from aiops.detection.core import seasonal
from aiops.detection.core.analyze import CycleInput
from aiops.detection.core.database import is_database
from aiops.detection.core.detectors.n_plus_one import MIN_REPEATS
from aiops.detection.core.types import Baseline, CallEdge, EndpointKey, SpanRow
from aiops.detection.core.window import ENDPOINT_KINDS
from aiops.detection.models import (
    SYSTEM_ACTOR,
    DependencyEdge,
    EndpointBaseline,
    Incident,
    IncidentStatus,
    SeasonalSlot,
)
from aiops.telemetry.cardinality import OVERFLOW
from aiops.telemetry.functions import Epoch
from aiops.telemetry.models import Span

SPAN_FIELDS = (
    "service",
    "endpoint",
    "kind",
    "start_time",
    "duration_ms",
    "status_code",
    "is_error",
    "trace_id",
    "span_id",
    "parent_span_id",
    "peer",
    "error_head",
    "version",
    "query_count",
    "query_ms",
    "top_query_head",
    "top_query_count",
)
# How much of a failed span's error message the cycle reads (it looks for names).
ERROR_HEAD_CHARS = 240
BOOTSTRAP_LIMIT = 5_000
# New endpoints bootstrapped from history per cycle at most (a query each).
MAX_BOOTSTRAPS = 200
# Late spans read per cycle at most: a flood of backfilled spans cannot make one
# cycle unbounded (the rest are still counted for /metrics, by id).
LATE_LIMIT = 50_000


def _rows(
    queryset, *, previous: datetime | None = None, seen_upto_id: int = 0
) -> list[SpanRow]:
    """Spans as the core sees them. With ``previous``, a span that started by then
    but has an id above ``seen_upto_id`` arrived since: it is marked late."""
    fields = ["epoch" if name == "start_time" else name for name in SPAN_FIELDS]
    rows = queryset.annotate(
        epoch=Epoch("start_time"),
        error_head=Case(
            When(is_error=True, then=Left("error_message", ERROR_HEAD_CHARS)),
            default=Value(""),
        ),
        # The statement text only where it repeated enough to be an N+1: the
        # rest of the window's spans cost the cycle no text.
        top_query_head=Case(
            When(top_query_count__gte=MIN_REPEATS, then="top_query"),
            default=Value(""),
        ),
    ).values_list(*fields, "id")
    if previous is None:
        return [SpanRow(*row[:-1]) for row in rows]
    before = previous.timestamp()
    return [
        SpanRow(*row[:-1], late=row[3] <= before and row[-1] > seen_upto_id)
        for row in rows
    ]


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def baseline_from_row(row: EndpointBaseline) -> Baseline:
    return Baseline(
        key=EndpointKey(row.service, row.endpoint),
        log_level=row.log_level,
        log_anchor=row.log_anchor,
        log_spread=row.log_spread,
        tail_fraction=row.tail_fraction,
        error_rate=row.error_rate,
        request_rate=row.request_rate,
        self_time_ms=row.self_time_ms,
        sample_count=row.sample_count,
        moment_count=row.moment_count,
        cycle_mean=row.cycle_mean,
        cycle_var=row.cycle_var,
        cycle_count=row.cycle_count,
        recent_medians=list(row.recent_medians or []),
        recent_counts=list(row.recent_counts or []),
        within_var=row.within_var,
        busy_cycles=row.busy_cycles,
        query_level=row.query_level,
        query_samples=row.query_samples,
        series=dict(row.series or {}),
        learned_at=row.learned_at.timestamp() if row.learned_at else None,
        last_seen=row.last_seen.timestamp() if row.last_seen else None,
        suspicious_since=dict(row.suspicious_since or {}),
    )


def seasons(*, since: float, now: float) -> dict[EndpointKey, seasonal.Season]:
    """What the time of day usually does to each endpoint's latency in the
    quarter hours from ``since`` to ``now``: one query over the kept days."""
    today, _ = seasonal.day_and_slot(now)
    history: dict[EndpointKey, list[seasonal.SlotDay]] = defaultdict(list)
    rows = SeasonalSlot.objects.filter(
        slot__in=seasonal.slots_between(since, now),
        day__gte=today - seasonal.HISTORY_DAYS,
    ).values_list(
        "service",
        "endpoint",
        "day",
        "slot",
        "cycles",
        "offset_sum",
        "requests",
        "errors",
        "seconds",
    )
    for service, endpoint, day, slot, cycles, offset_sum, *traffic in rows:
        history[EndpointKey(service, endpoint)].append(
            seasonal.SlotDay(day, slot, cycles, offset_sum, *traffic)
        )
    found = {}
    for key, items in history.items():
        season = seasonal.season_for(items, since=since, now=now)
        if season is not None:
            found[key] = season
    return found


def with_seasons(
    baselines: dict[EndpointKey, Baseline], *, since: float, now: float
) -> dict[EndpointKey, Baseline]:
    """The baselines, each with its season where the time of day matters."""
    result = dict(baselines)
    for key, season in seasons(since=since, now=now).items():
        if key in result:
            result[key] = replace(result[key], season=season)
    return result


def endpoint_spans(key: EndpointKey):
    return Span.objects.filter(
        service=key.service, endpoint=key.endpoint, kind__in=ENDPOINT_KINDS
    )


def load_cycle_input(
    *,
    now: datetime,
    previous: datetime | None,
    config: DetectionConfig,
    seen_upto_id: int = 0,
    upto_id: int | None = None,
) -> CycleInput:
    """Everything one cycle needs, in a handful of indexed queries.

    ``seen_upto_id`` is the newest span id the previous cycle could see, and
    ``upto_id`` the newest this one reads: spans with ids between them became
    visible since the previous cycle, whenever they started, so a long request
    or a late delivery is judged and learned once (up to ``lookback`` late).
    The cost follows the window (and the number of endpoints), never the stored
    history: history is read once per new endpoint, for its first baseline.
    """
    window_start = now - timedelta(seconds=config.effective_window)
    in_window = Span.objects.filter(start_time__gt=window_start, start_time__lte=now)
    if upto_id is not None:
        in_window = in_window.filter(id__lte=upto_id)
    spans = _rows(in_window, previous=previous, seen_upto_id=seen_upto_id)
    if previous is not None and previous >= window_start and upto_id is not None:
        spans += _late_rows(now, window_start, config, seen_upto_id, upto_id)
    baselines = {
        EndpointKey(row.service, row.endpoint): baseline_from_row(row)
        for row in EndpointBaseline.objects.all()
    }
    spans, counts = within_caps(spans, set(baselines))

    epoch = now.timestamp()
    new_keys = sorted(counts.keys() - baselines.keys(), key=lambda k: -counts[k])
    for n, key in enumerate(new_keys):
        if n >= MAX_BOOTSTRAPS:
            # The rest start from their own requests (pooled until they have 20).
            baselines[key] = baselines_.bootstrap(
                key, [], now=epoch, until=window_start.timestamp(), config=config
            )
            continue
        history = endpoint_spans(key).filter(
            start_time__gt=now - timedelta(seconds=config.bootstrap_history),
            start_time__lte=window_start,
        )
        if previous is not None:
            # What is new since the previous cycle is learned by this one.
            history = history.filter(id__lte=seen_upto_id)
        samples = (
            history.order_by("-start_time")[:BOOTSTRAP_LIMIT]
            .annotate(epoch=Epoch("start_time"))
            .values_list("epoch", "duration_ms")
        )
        baselines[key] = baselines_.bootstrap(
            key,
            list(samples),
            now=epoch,
            until=window_start.timestamp(),
            config=config,
        )

    borrowed: dict[EndpointKey, list[SpanRow]] = {}
    lookback_start = now - timedelta(seconds=config.lookback)
    recent_since = epoch - config.lookback
    for key, baseline in baselines.items():
        need = config.min_window_samples - counts.get(key, 0)
        recently_seen = (
            baseline.last_seen is not None and baseline.last_seen > recent_since
        )
        # A baseline still warming up is not judged on old requests: borrowing
        # for it would cost a query for nothing (and for a flood of one-off
        # names, one query each).
        judged = baseline.knows_enough(config.min_baseline_samples)
        if need <= 0 or not judged or not (recently_seen or key in counts):
            continue
        if is_database(key):
            continue  # made from request spans in the cycle, never stored
        older = (
            endpoint_spans(key)
            .filter(start_time__gt=lookback_start, start_time__lte=window_start)
            .order_by("-start_time")[:need]
        )
        rows = _rows(older)
        if rows:
            borrowed[key] = rows

    if config.seasonal:
        baselines = with_seasons(baselines, since=recent_since, now=epoch)
    return CycleInput(
        now=epoch,
        previous=previous.timestamp() if previous else None,
        spans=spans,
        borrowed=borrowed,
        baselines=baselines,
        in_incident=_in_active_incidents(),
        edges=_edges(),
        evidence_since=operator_resolutions(now, config),
    )


def admitted(
    candidates: dict[EndpointKey, int], known: set[EndpointKey]
) -> set[EndpointKey]:
    """Which new endpoints (with their span counts) fit under the name caps next
    to the known ones, busiest first; the rest fold into ``(other)``."""
    per_service = settings.AIOPS_MAX_ENDPOINTS_PER_SERVICE
    room = settings.AIOPS_MAX_ENDPOINTS - len(known)
    names: dict[str, int] = defaultdict(int)
    for key in known:
        names[key.service] += 1
    chosen: set[EndpointKey] = set()
    for key in sorted(candidates, key=lambda k: (-candidates[k], k)):
        if key.endpoint == OVERFLOW:
            chosen.add(key)
        elif room > 0 and names[key.service] < per_service:
            chosen.add(key)
            names[key.service] += 1
            room -= 1
    return chosen


def within_caps(
    spans: list[SpanRow], known: set[EndpointKey]
) -> tuple[list[SpanRow], dict[EndpointKey, int]]:
    """The spans, with endpoints beyond the name caps folded into their service's
    ``(other)`` (as ingestion does; this holds for spans written any other way),
    and the number of endpoint spans per endpoint. Known endpoints always keep
    their names."""
    # Plain (service, endpoint) tuples: EndpointKey is a named tuple, equal to
    # them and hashed alike, and this loop runs once per span.
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for span in spans:
        if span.kind in ENDPOINT_KINDS:
            counts[(span.service, span.endpoint)] += 1
    new = {EndpointKey(*k): n for k, n in counts.items() if k not in known}
    folded = new.keys() - admitted(new, known) if new else set()
    if folded:
        spans = [
            s._replace(endpoint=OVERFLOW)
            if s.kind in ENDPOINT_KINDS and (s.service, s.endpoint) in folded
            else s
            for s in spans
        ]
        for key in folded:
            target = EndpointKey(key.service, OVERFLOW)
            counts[target] = counts.get(target, 0) + counts.pop(key)
    return spans, {EndpointKey(*k): n for k, n in counts.items()}


def _late_rows(
    now: datetime,
    window_start: datetime,
    config: DetectionConfig,
    seen_upto_id: int,
    upto_id: int,
) -> list[SpanRow]:
    """Spans that started before the window but became visible since the previous
    cycle (ids in (seen_upto_id, upto_id]), at most LATE_LIMIT of them."""
    late = Span.objects.filter(
        id__gt=seen_upto_id,
        id__lte=upto_id,
        start_time__gt=now - timedelta(seconds=config.lookback),
        start_time__lte=window_start,
    ).order_by("id")[:LATE_LIMIT]
    return [row._replace(late=True) for row in _rows(late)]


def _in_active_incidents() -> set[EndpointKey]:
    keys: set[EndpointKey] = set()
    for affected in Incident.objects.active().values_list("affected", flat=True):
        keys.update(EndpointKey(service, endpoint) for service, endpoint in affected)
    return keys


def _edges() -> list[CallEdge]:
    return [
        CallEdge(
            caller=EndpointKey(e.caller_service, e.caller_endpoint),
            callee=EndpointKey(e.callee_service, e.callee_endpoint),
            client_endpoint=e.client_endpoint,
            peer=e.peer,
            offset_ms=e.offset_ms,
            gap_ms=e.gap_ms,
            call_rate=e.call_rate,
            calls_per_request=e.usual_calls / e.usual_requests
            if e.usual_calls is not None and e.usual_requests
            else None,
        )
        for e in DependencyEdge.objects.all()
    ]


def operator_resolutions(
    now: datetime, config: DetectionConfig
) -> dict[EndpointKey, float]:
    """Per endpoint, when an operator last resolved an incident touching it (while
    the evidence that incident saw can still be in a cycle's look-back)."""
    since: dict[EndpointKey, float] = {}
    resolved = (
        Incident.objects.filter(
            status=IncidentStatus.RESOLVED,
            resolved_at__gt=now - timedelta(seconds=config.lookback),
            resolved_at__lte=now,
        )
        .exclude(resolved_by=SYSTEM_ACTOR)
        .values_list("affected", "resolved_at")
    )
    for affected, resolved_at in resolved:
        for service, endpoint in affected:
            key = EndpointKey(service, endpoint)
            since[key] = max(since.get(key, 0.0), resolved_at.timestamp())
    return since
