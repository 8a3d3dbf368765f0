"""The analysis cycle service: the one function the schedule, ``run_analysis``,
``POST /aiops/analyze`` and ``replay`` all call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from aiops_site.bulk import update_rows
from detection import lease
from detection.config import DetectionConfig
from detection.core.analyze import CycleResult, analyze
from detection.core.types import Baseline, EndpointKey
from detection.lifecycle import LifecycleSummary, apply_groups
from detection.models import (
    AnalysisLease,
    AnalysisRun,
    DependencyEdge,
    EndpointBaseline,
)
from detection.selectors import load_cycle_input, to_datetime

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The cycle outlived its lease; its writes are rolled back."""


@dataclass
class CycleReport:
    now: datetime
    trigger: str
    skipped: str = ""
    duration_ms: float = 0.0
    endpoints: int = 0
    spans: int = 0
    findings: int = 0
    lifecycle: LifecycleSummary = field(default_factory=LifecycleSummary)

    def as_dict(self) -> dict:
        return {
            "cycle_at": self.now.isoformat(),
            "trigger": self.trigger,
            "skipped": self.skipped,
            "duration_ms": round(self.duration_ms, 1),
            "endpoints": self.endpoints,
            "spans": self.spans,
            "findings": self.findings,
            "opened": self.lifecycle.opened,
            "updated": self.lifecycle.updated,
            "reopened": self.lifecycle.reopened,
            "resolved": self.lifecycle.resolved,
        }


def _lease_ttl(config: DetectionConfig) -> float:
    # Long enough for any sane cycle, short enough that a killed worker delays the
    # next cycle by a few intervals at most.
    return max(4 * config.interval, 60.0)


def run_analysis_cycle(
    *,
    now: datetime,
    trigger: str,
    config: DetectionConfig | None = None,
    min_spacing: float = 0.0,
) -> CycleReport:
    """Run one cycle at ``now`` unless another holds the lease.

    ``min_spacing`` (seconds) skips the cycle if the previous one ran more recently
    than that: two schedulers firing on the same tick then produce one cycle.
    """
    config = config or DetectionConfig.from_settings()
    report = CycleReport(now=now, trigger=trigger)
    started = time.perf_counter()
    with lease.held(name=lease.ANALYSIS, ttl=_lease_ttl(config)) as holder:
        if holder is None:
            report.skipped = "another analysis cycle is running"
            return report
        state = AnalysisLease.objects.get(name=lease.ANALYSIS)
        previous = state.last_cycle_at
        if previous is not None:
            gap = (now - previous).total_seconds()
            if gap <= 0 and -gap < config.lookback:
                # A repeat of a cycle that ran (or a clock that stepped back) is a
                # no-op: the same spans must not be learned or counted twice.
                report.skipped = "already analysed up to this time"
            elif 0 <= gap < min_spacing:
                report.skipped = "the previous cycle ran less than an interval ago"
            elif gap < 0:
                # The previous cycle's clock was far ahead (a clock jump since fixed):
                # start over rather than wait for that time to come.
                previous = None
        if report.skipped:
            _record(report, holder, started)
            return report

        try:
            _run(report, holder, previous, config, started)
        except Exception as exc:
            # Nothing of the cycle was written (one transaction); say why it failed.
            logger.exception("Analysis cycle at %s failed", now.isoformat())
            report.skipped = "failed"
            _record(report, holder, started, error=f"{type(exc).__name__}: {exc}")
            raise
    return report


def _run(
    report: CycleReport,
    holder: str,
    previous: datetime | None,
    config: DetectionConfig,
    started: float,
) -> None:
    now = report.now
    data = load_cycle_input(now=now, previous=previous, config=config)
    result = analyze(data, config)
    report.endpoints = len(result.baselines)
    report.spans = len(data.spans)
    report.findings = len(result.findings)
    with transaction.atomic():
        _save_baselines(result.baselines)
        _save_calls(result, now)
        report.lifecycle = apply_groups(result.groups, now=now, config=config)
        # Still ours? If the lease expired and another cycle took over, undo.
        if not AnalysisLease.objects.filter(name=lease.ANALYSIS, holder=holder).update(
            last_cycle_at=now
        ):
            raise LeaseLost("the analysis lease expired during the cycle")
        _record(report, holder, started)


def _record(report: CycleReport, holder: str, started: float, error: str = "") -> None:
    report.duration_ms = (time.perf_counter() - started) * 1000.0
    AnalysisRun.objects.create(
        cycle_at=report.now,
        started_at=timezone.now(),
        duration_ms=report.duration_ms,
        trigger=report.trigger,
        holder=holder,
        endpoints=report.endpoints,
        spans=report.spans,
        findings=report.findings,
        opened=report.lifecycle.opened + report.lifecycle.reopened,
        updated=report.lifecycle.updated,
        resolved=report.lifecycle.resolved,
        skipped=report.skipped,
        error=error[:2000],
    )


_BASELINE_FIELDS = [
    "log_level",
    "log_anchor",
    "log_spread",
    "tail_fraction",
    "error_rate",
    "request_rate",
    "self_time_ms",
    "sample_count",
    "cycle_mean",
    "cycle_var",
    "cycle_count",
    "recent_medians",
    "recent_counts",
    "within_var",
    "learned_at",
    "last_seen",
    "suspicious_since",
]


def _row_values(baseline: Baseline) -> dict:
    return {
        "log_level": baseline.log_level,
        "log_anchor": baseline.log_anchor,
        "log_spread": baseline.log_spread,
        "tail_fraction": baseline.tail_fraction,
        "error_rate": baseline.error_rate,
        "request_rate": baseline.request_rate,
        "self_time_ms": baseline.self_time_ms,
        "sample_count": baseline.sample_count,
        "cycle_mean": baseline.cycle_mean,
        "cycle_var": baseline.cycle_var,
        "cycle_count": baseline.cycle_count,
        "recent_medians": baseline.recent_medians,
        "recent_counts": baseline.recent_counts,
        "within_var": baseline.within_var,
        "learned_at": to_datetime(baseline.learned_at) if baseline.learned_at else None,
        "last_seen": to_datetime(baseline.last_seen) if baseline.last_seen else None,
        "suspicious_since": baseline.suspicious_since,
    }


def _save_baselines(baselines: dict[EndpointKey, Baseline]) -> None:
    rows = {
        EndpointKey(row.service, row.endpoint): row
        for row in EndpointBaseline.objects.all()
    }
    changed, created = [], []
    for key, baseline in baselines.items():
        values = _row_values(baseline)
        row = rows.get(key)
        if row is None:
            created.append(
                EndpointBaseline(service=key.service, endpoint=key.endpoint, **values)
            )
            continue
        for name, value in values.items():
            setattr(row, name, value)
        changed.append(row)
    EndpointBaseline.objects.bulk_create(created, batch_size=500)
    update_rows(changed, _BASELINE_FIELDS)


def _save_calls(result: CycleResult, now: datetime) -> None:
    if not result.calls:
        return
    edges = {
        (e.caller_service, e.caller_endpoint, e.callee_service, e.callee_endpoint): e
        for e in DependencyEdge.objects.all()
    }
    changed, created = [], []
    for (caller, callee), stats in result.calls.items():
        edge = edges.get((*caller, *callee))
        if edge is None:
            edge = DependencyEdge(
                caller_service=caller.service,
                caller_endpoint=caller.endpoint,
                callee_service=callee.service,
                callee_endpoint=callee.endpoint,
                first_seen=now,
            )
            created.append(edge)
        else:
            changed.append(edge)
        previous = edge.call_count
        edge.call_count += stats.calls
        edge.error_count += stats.errors
        # A running mean that settles: the order of calls rarely changes.
        edge.offset_ms = (
            stats.offset_ms
            if edge.offset_ms is None
            else (edge.offset_ms * previous + stats.offset_total_ms) / edge.call_count
        )
        if stats.client_endpoint:
            edge.client_endpoint, edge.peer = stats.client_endpoint, stats.peer
        edge.last_seen = now
    DependencyEdge.objects.bulk_create(created)
    update_rows(
        changed,
        [
            "call_count",
            "error_count",
            "offset_ms",
            "client_endpoint",
            "peer",
            "last_seen",
        ],
    )
