"""One analysis cycle on plain data: detect, learn, explain."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from aiops.detection.config import DetectionConfig
from aiops.detection.core import baseline as baselines_
from aiops.detection.core import seasonal, slowness
from aiops.detection.core.calls import CallStats, collect_calls
from aiops.detection.core.database import with_database_calls
from aiops.detection.core.detectors import (
    DETECTORS,
    latency,
    missing_calls,
    series,
    shift,
)
from aiops.detection.core.detectors.base import DetectContext
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.rca import build_groups
from aiops.detection.core.seasonal import SlotObservation
from aiops.detection.core.stats import median
from aiops.detection.core.summary import BucketSummary, summarize
from aiops.detection.core.types import (
    Baseline,
    CallEdge,
    EndpointKey,
    Finding,
    Group,
    SpanRow,
)
from aiops.detection.core.window import EndpointWindow, TraceIndex, group_by_endpoint
from aiops.detection.core.witness import Witnesses

# What the series detector stands in for on an endpoint that behaves as a
# sampled series (``series.regular``): the signals of the detectors it replaces
# there. Their tests assume cycles of many requests; on a series of single
# values their alarms came on top of its own (NAB: 200 false alarms with them,
# 78 without). A quiet endpoint with irregular traffic keeps them.
SERIES_REPLACES = frozenset({latency.SIGNAL, shift.SIGNAL})


@dataclass
class CycleInput:
    now: float
    # The previous cycle's time; None on the very first cycle.
    previous: float | None
    # Every span (any kind) that started in (now - window, now], and the older
    # ones that became visible only since the previous cycle (``SpanRow.late``).
    spans: list[SpanRow]
    # Endpoints with few spans in the window: their most recent older spans.
    borrowed: dict[EndpointKey, list[SpanRow]]
    # Known endpoints, plus new ones bootstrapped from stored history.
    baselines: dict[EndpointKey, Baseline]
    # Endpoints that belong to an open incident.
    in_incident: set[EndpointKey] = field(default_factory=set)
    # The call graph learned so far.
    edges: list[CallEdge] = field(default_factory=list)
    # Endpoints an operator resolved an incident of: evidence that started before
    # that moment (epoch) has been seen and dealt with, and opens nothing.
    evidence_since: dict[EndpointKey, float] = field(default_factory=dict)


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
    # Per endpoint with new spans: what they add to its seasonal history.
    seasonal: dict[EndpointKey, list[SlotObservation]] = field(default_factory=dict)
    # Per (caller, callee): this cycle's calls made by the caller's successful
    # requests, and those requests, for the callers whose calls are learned this
    # cycle (0 calls where a learned call was not made).
    call_samples: dict[tuple[EndpointKey, EndpointKey], tuple[int, int]] = field(
        default_factory=dict
    )


def analyze(data: CycleInput, config: DetectionConfig) -> CycleResult:
    now = data.now
    window_start = now - config.effective_window
    # The database as a callee of every request that ran queries.
    spans = with_database_calls(data.spans)
    by_endpoint = group_by_endpoint(spans)
    index = TraceIndex(spans)
    witnesses = Witnesses(
        by_endpoint=by_endpoint,
        baselines=data.baselines,
        edges=data.edges,
        now=now,
        config=config,
    )

    # Spans new since the previous cycle: what the baselines learn from. After a gap
    # longer than the window (or on the first cycle) the window is all we have.
    if data.previous is None or data.previous < window_start:
        bucket_start, elapsed = window_start, config.effective_window
    else:
        bucket_start, elapsed = data.previous, now - data.previous

    def is_new(span: SpanRow) -> bool:
        return span.late or span.start > bucket_start

    # Judged on the call graph before the baselines learn: a caller whose calls
    # look collapsed does not learn its calls per request from this cycle.
    calls_findings, calls_off = missing_calls.detect(
        by_endpoint=by_endpoint,
        index=index,
        edges=data.edges,
        baselines=data.baselines,
        window_start=window_start,
        now=now,
        config=config,
        evidence_since=data.evidence_since,
    )
    findings: list[Finding] = []
    learned: dict[EndpointKey, Baseline] = {}
    summaries: dict[EndpointKey, BucketSummary] = {}
    observations: dict[EndpointKey, list[SlotObservation]] = {}
    for key in sorted(set(by_endpoint) | set(data.baselines)):
        baseline = data.baselines.get(key) or Baseline(key=key, is_new=True)
        window = EndpointWindow(
            key, window_start, now, by_endpoint.get(key, []), data.borrowed.get(key, [])
        )
        bucket = [s for s in window.spans if is_new(s)]
        served = [s for s in bucket if not s.is_error]
        if (summary := summarize(bucket, baseline, config)) is not None:
            summaries[key] = summary
        context = DetectContext(
            now=now,
            config=config,
            window=window,
            baseline=baseline,
            in_incident=key in data.in_incident,
            witnesses=witnesses,
            self_time=index.self_time,
            cycle_median=median(baselines_.deseasonalised(baseline, served))
            if served
            else None,
            cycle_samples=len(served),
            bucket_start=bucket_start,
        )
        suspicious: set[str] = {"calls"} if key in calls_off else set()
        flagged: set[str] = set()
        mine: list[Finding] = []
        verdicts = []
        series_state, replaced = None, frozenset()
        if config.series and series.applies(context):
            verdict, series_state = series.detect(context)
            verdicts.append((series, verdict))
            if series.regular(series_state):
                replaced = SERIES_REPLACES
        for detector in DETECTORS:
            if detector.SIGNAL in replaced:
                continue
            verdicts.append((detector, detector.detect(context)))
        for detector, verdict in verdicts:
            if verdict.finding is not None:
                finding = verdict.finding
                if finding.opens_incident and key in data.evidence_since:
                    finding = _judged_since(
                        detector, context, finding, data.evidence_since[key]
                    )
                mine.append(finding)
                flagged.add(verdict.signal)
            if verdict.suspicious:
                suspicious.add(verdict.signal)
        findings.extend(_without_redundant(_fresh(mine, window)))
        if config.seasonal and (bucket or _seen_lately(baseline, now)):
            # Every endpoint seen in the days kept: a quarter hour watched
            # without a request had none (the traffic band needs to know).
            observations[key] = seasonal.observe(
                ((s.start, s.duration_ms, s.is_error) for s in bucket),
                math.log(baseline.reference_ms) if context.judged_enough else None,
                since=bucket_start,
                until=now,
            )
        self_times = [t for t in (index.self_time(s) for s in served) if t is not None]
        slow_count, clustering = 0, 1.0
        if context.judged_enough:
            is_slow, _ = latency.slow_test(context)
            slow = [s for s in served if is_slow(s)]
            slow_count, clustering = len(slow), slowness.clustering(served, slow)
        learned[key] = baselines_.learn(
            baseline,
            bucket,
            self_times=self_times,
            elapsed=elapsed,
            now=now,
            suspicious=suspicious,
            flagged=flagged,
            slow_count=slow_count,
            slow_clustering=clustering,
            config=config,
        )
        if series_state is not None:
            learned[key].series = series_state
        elif learned[key].busy_cycles and learned[key].series:
            # Busy after all: judged by the other detectors from now on.
            learned[key].series = {}

    findings.extend(calls_findings)
    groups = build_groups(findings, spans, data.baselines, data.edges)
    calls = collect_calls(spans, index, is_new)
    return CycleResult(
        findings=findings,
        groups=groups,
        baselines=learned,
        calls=calls,
        window_start=window_start,
        window_end=now,
        elapsed=elapsed,
        summaries=summaries,
        seasonal=observations,
        call_samples=_call_samples(calls, data.edges, summaries, learned, now, config),
    )


def _call_samples(
    calls: dict[tuple[EndpointKey, EndpointKey], CallStats],
    edges: list[CallEdge],
    summaries: dict[EndpointKey, BucketSummary],
    learned: dict[EndpointKey, Baseline],
    now: float,
    config: DetectionConfig,
) -> dict[tuple[EndpointKey, EndpointKey], tuple[int, int]]:
    """This cycle's (calls by successful requests, successful requests), per
    edge whose caller had successful requests and is not holding its calls'
    learning (suspicious for less than ``relearn_after``)."""
    pairs = set(calls) | {(e.caller, e.callee) for e in edges}
    result = {}
    for caller, callee in pairs:
        summary, baseline = summaries.get(caller), learned.get(caller)
        served = summary.requests - summary.errors if summary else 0
        if served <= 0 or baseline is None:
            continue
        if baselines_.holds(baseline, "calls", now, config):
            continue
        stats = calls.get((caller, callee))
        result[(caller, callee)] = (stats.served_calls if stats else 0, served)
    return result


def _seen_lately(baseline: Baseline, now: float) -> bool:
    return (
        not baseline.is_new
        and baseline.last_seen is not None
        and baseline.last_seen >= now - seasonal.HISTORY_DAYS * seasonal.DAY_SECONDS
    )


def _judged_since(detector, context: DetectContext, finding: Finding, since: float):
    """The finding as evidence that started after ``since`` alone supports it: an
    operator's resolve is final for what it saw. Without enough such evidence the
    finding may still keep another open incident alive, never open one."""
    if finding.type in (
        AnomalyType.SILENCE,
        AnomalyType.TRAFFIC_SURGE,
        AnomalyType.TRAFFIC_DROP,
    ):
        # Judged on counts (of absence, or of too many or too few requests),
        # not on spans: judged again on the stretches that follow the resolve
        # (the most telling stretch may have begun before it).
        if finding.window_start >= since:
            return finding
        verdict = detector.detect(replace(context, evidence_since=since))
        if verdict.finding is not None and verdict.finding.opens_incident:
            return verdict.finding
        fresh = False
    elif finding.type in (AnomalyType.SHIFT, AnomalyType.SERIES):
        cycles = finding.detail.get("cycles", 1)
        fresh = context.now - cycles * context.config.interval >= since
    else:
        window = context.window
        recent = EndpointWindow(
            window.key,
            window.start,
            window.end,
            [s for s in window.spans if s.start > since],
            [s for s in window.borrowed if s.start > since],
        )
        verdict = detector.detect(replace(context, window=recent))
        if verdict.finding is not None and verdict.finding.opens_incident:
            return verdict.finding
        fresh = False
    return finding if fresh else replace(finding, opens_incident=False)


def _fresh(findings: list[Finding], window: EndpointWindow) -> list[Finding]:
    """A finding whose bad spans are all borrowed (older than the window) brings
    no new evidence: it may keep an open incident alive, never open one. After
    traffic stops, a quiet endpoint is judged on its last few requests for a
    while; a fault among them was already seen when they were new."""
    if not window.borrowed:
        return findings
    current = {s.span_id for s in window.spans if s.span_id}
    return [
        replace(f, opens_incident=False)
        if f.opens_incident
        and f.bad_span_ids
        and not any(i in current for i in f.bad_span_ids)
        else f
        for f in findings
    ]


def _without_redundant(findings: list[Finding]) -> list[Finding]:
    """A latency shift up says less than a latency anomaly on the same endpoint."""
    if not any(f.type == AnomalyType.LATENCY for f in findings):
        return findings
    return [
        f
        for f in findings
        if not (f.type == AnomalyType.SHIFT and f.detail.get("direction") == "up")
    ]
