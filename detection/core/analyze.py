"""One analysis cycle on plain data: detect, learn, explain."""

from __future__ import annotations

from dataclasses import dataclass, field

from detection.config import DetectionConfig
from detection.core import baseline as baselines_
from detection.core.calls import CallStats, collect_calls
from detection.core.detectors import DETECTORS, latency
from detection.core.detectors.base import DetectContext
from detection.core.rca import build_groups
from detection.core.stats import median
from detection.core.summary import BucketSummary, summarize
from detection.core.types import (
    Baseline,
    CallEdge,
    EndpointKey,
    Finding,
    Group,
    SpanRow,
)
from detection.core.window import (
    UNMATCHED,
    EndpointWindow,
    TraceIndex,
    group_by_endpoint,
)


@dataclass
class CycleInput:
    now: float
    # The previous cycle's time; None on the very first cycle.
    previous: float | None
    # Every span (any kind) that started in (now - window, now].
    spans: list[SpanRow]
    # Endpoints with few spans in the window: their most recent older spans.
    borrowed: dict[EndpointKey, list[SpanRow]]
    # Known endpoints, plus new ones bootstrapped from stored history.
    baselines: dict[EndpointKey, Baseline]
    # Endpoints that belong to an open incident.
    in_incident: set[EndpointKey] = field(default_factory=set)
    # The call graph learned so far.
    edges: list[CallEdge] = field(default_factory=list)


@dataclass
class CycleResult:
    findings: list[Finding]
    groups: list[Group]
    baselines: dict[EndpointKey, Baseline]
    # Calls seen in this cycle's new spans.
    calls: dict[tuple[EndpointKey, EndpointKey], CallStats]
    window_start: float
    window_end: float
    # Seconds the new spans cover (since the previous cycle).
    elapsed: float
    # Per endpoint with new spans: counts and percentiles for the charts.
    summaries: dict[EndpointKey, BucketSummary] = field(default_factory=dict)


def analyze(data: CycleInput, config: DetectionConfig) -> CycleResult:
    now = data.now
    window_start = now - config.effective_window
    by_endpoint = group_by_endpoint(data.spans)
    # Traffic to real endpoints; a scanner probing unknown URLs proves nothing.
    system_active = any(key.endpoint != UNMATCHED for key in by_endpoint)
    index = TraceIndex(data.spans)

    # Spans new since the previous cycle: what the baselines learn from. After a gap
    # longer than the window (or on the first cycle) the window is all we have.
    if data.previous is None or data.previous < window_start:
        bucket_start, elapsed = window_start, config.effective_window
    else:
        bucket_start, elapsed = data.previous, now - data.previous

    findings: list[Finding] = []
    learned: dict[EndpointKey, Baseline] = {}
    summaries: dict[EndpointKey, BucketSummary] = {}
    for key in sorted(set(by_endpoint) | set(data.baselines)):
        baseline = data.baselines.get(key) or Baseline(key=key, is_new=True)
        window = EndpointWindow(
            key, window_start, now, by_endpoint.get(key, []), data.borrowed.get(key, [])
        )
        bucket = [s for s in window.spans if s.start > bucket_start]
        served = [s for s in bucket if not s.is_error]
        if (summary := summarize(bucket, baseline, config)) is not None:
            summaries[key] = summary
        context = DetectContext(
            now=now,
            config=config,
            window=window,
            baseline=baseline,
            in_incident=key in data.in_incident,
            system_active=system_active,
            self_time=index.self_time,
            cycle_median=median([s.duration_ms for s in served]) if served else None,
            cycle_samples=len(served),
        )
        suspicious: set[str] = set()
        flagged: set[str] = set()
        mine: list[Finding] = []
        for detector in DETECTORS:
            verdict = detector.detect(context)
            if verdict.finding is not None:
                mine.append(verdict.finding)
                flagged.add(verdict.signal)
            if verdict.suspicious:
                suspicious.add(verdict.signal)
        findings.extend(_without_redundant(mine))
        if baseline.is_new and baseline.sample_count:
            # Just bootstrapped from history that already covers this window.
            learned[key] = baselines_.learn(
                baseline,
                [],
                self_times=[],
                elapsed=0,
                now=now,
                suspicious=suspicious,
                config=config,
            )
            continue
        self_times = [t for t in (index.self_time(s) for s in served) if t is not None]
        is_slow, _ = latency.slow_test(context)
        slow_share = sum(map(is_slow, served)) / len(served) if served else None
        learned[key] = baselines_.learn(
            baseline,
            bucket,
            self_times=self_times,
            elapsed=elapsed,
            now=now,
            suspicious=suspicious,
            flagged=flagged,
            slow_share=slow_share,
            config=config,
        )

    groups = build_groups(findings, data.spans, data.baselines, data.edges)
    return CycleResult(
        findings=findings,
        groups=groups,
        baselines=learned,
        calls=collect_calls(data.spans, index, bucket_start),
        window_start=window_start,
        window_end=now,
        elapsed=elapsed,
        summaries=summaries,
    )


def _without_redundant(findings: list[Finding]) -> list[Finding]:
    """A latency shift up says less than a latency anomaly on the same endpoint."""
    if not any(f.type == "latency_anomaly" for f in findings):
        return findings
    return [
        f
        for f in findings
        if not (f.type == "latency_shift" and f.detail.get("direction") == "up")
    ]
