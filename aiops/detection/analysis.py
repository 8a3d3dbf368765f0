"""The analysis cycle service: the one function the schedule, ``run_analysis``,
``POST /aiops/analyze`` and ``replay`` all call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from aiops.changes.versions import learn_versions
from aiops.conf import settings
from aiops.detection import lease
from aiops.detection.config import DetectionConfig
from aiops.detection.core.analyze import analyze
from aiops.detection.counting import count_spans, newest_span_id
from aiops.detection.lifecycle import LifecycleSummary, apply_groups
from aiops.detection.models import (
    AnalysisLease,
    AnalysisRun,
)
from aiops.detection.persistence import (
    save_baselines,
    save_calls,
    save_rollups,
    save_season,
)
from aiops.detection.selectors import load_cycle_input
from aiops.notifications.services import record_events

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
    return settings.AIOPS_LEASE_TTL or max(4 * config.interval, 60.0)


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
            if gap <= 0 and -gap < config.interval:
                # A repeat of a cycle that ran (two triggers, a little clock skew) is
                # a no-op: the same spans must not be learned or counted twice.
                report.skipped = "already analysed up to this time"
            elif 0 <= gap < min_spacing:
                report.skipped = "the previous cycle ran less than an interval ago"
            elif gap < 0:
                # The clock stepped back. Spans carry the same clock, so windows on
                # the new time are consistent; only "new since the previous cycle"
                # has no meaning any more: start over from the window.
                previous = None
        if report.skipped:
            _record(report, holder, started)
            return report

        try:
            _run(report, holder, previous, state, config, started)
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
    state: AnalysisLease,
    config: DetectionConfig,
    started: float,
) -> None:
    now = report.now
    # Read the newest id first: the cycle sees spans up to it, and the next one
    # takes everything after it as new, however long ago those spans started.
    newest = newest_span_id()
    data = load_cycle_input(
        now=now,
        previous=previous,
        config=config,
        seen_upto_id=state.pending_span_id,
        upto_id=newest,
    )
    tallies = count_spans(
        after_id=state.counted_span_id,
        upto_id=state.pending_span_id,
        since=None
        if state.counted_span_id
        else now - timedelta(seconds=config.bootstrap_history),
    )
    result = analyze(data, config)
    report.endpoints = len(result.baselines)
    report.spans = len(data.spans)
    report.findings = len(result.findings)
    with transaction.atomic():
        save_baselines(result.baselines, tallies, now=now.timestamp(), config=config)
        save_calls(result, now)
        save_rollups(result, now)
        save_season(result, now.timestamp())
        learn_versions(
            after_id=state.pending_span_id,
            upto_id=newest,
            # A first cycle reads no further back than a change can matter.
            since=None
            if state.pending_span_id
            else now - timedelta(seconds=settings.AIOPS_CHANGE_WINDOW),
        )
        report.lifecycle = apply_groups(
            result.groups,
            now=now,
            config=config,
            previous=previous,
            judged_with=data.evidence_since,
        )
        record_events(report.lifecycle.events, now=now)
        # Still ours? If the lease expired and another cycle took over, undo.
        if not AnalysisLease.objects.filter(name=lease.ANALYSIS, holder=holder).update(
            last_cycle_at=now,
            counted_span_id=max(state.counted_span_id, state.pending_span_id),
            pending_span_id=max(newest, state.pending_span_id),
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
