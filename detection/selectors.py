"""Reads that turn stored rows into the detection core's plain data."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from detection.config import DetectionConfig
from detection.core import baseline as baselines_
from detection.core.analyze import CycleInput
from detection.core.types import Baseline, CallEdge, EndpointKey, SpanRow
from detection.core.window import ENDPOINT_KINDS
from detection.models import DependencyEdge, EndpointBaseline, Incident
from telemetry.functions import Epoch
from telemetry.models import Span

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
)
BOOTSTRAP_LIMIT = 5_000


def _rows(queryset) -> list[SpanRow]:
    fields = ["epoch" if name == "start_time" else name for name in SPAN_FIELDS]
    return [
        SpanRow(*row)
        for row in queryset.annotate(epoch=Epoch("start_time")).values_list(*fields)
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
        cycle_mean=row.cycle_mean,
        cycle_var=row.cycle_var,
        cycle_count=row.cycle_count,
        recent_medians=list(row.recent_medians or []),
        recent_counts=list(row.recent_counts or []),
        within_var=row.within_var,
        learned_at=row.learned_at.timestamp() if row.learned_at else None,
        last_seen=row.last_seen.timestamp() if row.last_seen else None,
        suspicious_since=dict(row.suspicious_since or {}),
    )


def endpoint_spans(key: EndpointKey):
    return Span.objects.filter(
        service=key.service, endpoint=key.endpoint, kind__in=ENDPOINT_KINDS
    )


def load_cycle_input(
    *, now: datetime, previous: datetime | None, config: DetectionConfig
) -> CycleInput:
    """Everything one cycle needs, in a handful of indexed queries.

    The cost follows the window (and the number of endpoints), never the stored
    history: history is read once per new endpoint, for its first baseline.
    """
    window_start = now - timedelta(seconds=config.effective_window)
    spans = _rows(Span.objects.filter(start_time__gt=window_start, start_time__lte=now))
    counts: dict[EndpointKey, int] = defaultdict(int)
    for span in spans:
        if span.kind in ENDPOINT_KINDS:
            counts[span.key] += 1

    baselines = {
        EndpointKey(row.service, row.endpoint): baseline_from_row(row)
        for row in EndpointBaseline.objects.all()
    }
    epoch = now.timestamp()
    for key in counts.keys() - baselines.keys():
        history = (
            endpoint_spans(key)
            .filter(
                start_time__gt=now - timedelta(seconds=config.bootstrap_history),
                start_time__lte=window_start,
            )
            .order_by("-start_time")[:BOOTSTRAP_LIMIT]
        )
        samples = history.annotate(epoch=Epoch("start_time")).values_list(
            "epoch", "duration_ms"
        )
        baselines[key] = baselines_.bootstrap(
            key, list(samples), now=epoch, config=config
        )

    borrowed: dict[EndpointKey, list[SpanRow]] = {}
    lookback_start = now - timedelta(seconds=config.lookback)
    recent_since = epoch - config.lookback
    for key, baseline in baselines.items():
        need = config.min_window_samples - counts.get(key, 0)
        recently_seen = (
            baseline.last_seen is not None and baseline.last_seen > recent_since
        )
        if need <= 0 or not (recently_seen or key in counts):
            continue
        older = (
            endpoint_spans(key)
            .filter(start_time__gt=lookback_start, start_time__lte=window_start)
            .order_by("-start_time")[:need]
        )
        rows = _rows(older)
        if rows:
            borrowed[key] = rows

    in_incident: set[EndpointKey] = set()
    for affected in Incident.objects.active().values_list("affected", flat=True):
        in_incident.update(
            EndpointKey(service, endpoint) for service, endpoint in affected
        )

    edges = [
        CallEdge(
            caller=EndpointKey(e.caller_service, e.caller_endpoint),
            callee=EndpointKey(e.callee_service, e.callee_endpoint),
            client_endpoint=e.client_endpoint,
            peer=e.peer,
            offset_ms=e.offset_ms,
            gap_ms=e.gap_ms,
        )
        for e in DependencyEdge.objects.all()
    ]

    return CycleInput(
        now=epoch,
        previous=previous.timestamp() if previous else None,
        spans=spans,
        borrowed=borrowed,
        baselines=baselines,
        in_incident=in_incident,
        edges=edges,
    )
