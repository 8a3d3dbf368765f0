"""Retention: old spans and analysis runs go; incident evidence stays."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops.detection.models import AnalysisRun, Anomaly, EndpointRollup, Incident
from aiops.telemetry.retention import PruneResult, prune_spans


def evidence_traces() -> set[str]:
    """Trace ids that active incidents show as evidence."""
    traces: set[str] = set()
    for ids in Incident.objects.active().values_list("trace_ids", flat=True):
        traces.update(ids)
    for ids in Anomaly.objects.filter(
        incident__in=Incident.objects.active()
    ).values_list("example_trace_ids", flat=True):
        traces.update(ids)
    return traces


def prune_telemetry(*, now: datetime, days: float) -> PruneResult:
    cutoff = now - timedelta(days=days)
    # Spans claiming to start more than a day ahead were forged or mis-clocked
    # (ingestion refuses them now; older versions stored them, and retention by
    # age alone would keep them for ever).
    result = prune_spans(
        before=cutoff, keep_traces=evidence_traces(), after=now + timedelta(days=1)
    )
    AnalysisRun.objects.filter(started_at__lt=cutoff).delete()
    EndpointRollup.objects.filter(at__lt=cutoff).delete()
    return result
