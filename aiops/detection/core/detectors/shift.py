"""Latency shift: the typical latency moved far from its long-run normal.

Works on the per-cycle median latency, so the same rule fits an endpoint with a
thousand requests a cycle and one with one request every five minutes. The
median of the last k cycles must be at least z long-run standard deviations from
the long-run mean, with z shrinking as k grows: one wild cycle (k=1, z=12), three
clearly off (k=3, z=5) or five moderately off (k=5, z=3). A minimum relative
change keeps statistically real but trivial shifts out. Both directions count;
a drop is reported with low severity. Medians are compared without the time of
day (``aiops.detection.core.seasonal``), and shown with it.

An endpoint busy at times (``Baseline.busy_cycles``) is judged only on stretches
of ``MIN_REQUESTS``: its variance was learned from busy cycles, and a quiet
night's medians of one or two requests are single requests, not medians. One
that never was busy (a probe, a job, or a new install whose first traffic is a
quiet night) is judged on stretches of at least a window's worth of requests
(``min_window_samples``, what the latency detector borrows up to): never on one
request. The median of one request is that request, and one request from the
long tail (a pause, a cold cache: several times the usual, a few in a hundred)
is many standard deviations off a variance learned from a few dozen calm ones;
one slow request is no incident.
"""

from __future__ import annotations

import math

from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    seasonal_note,
    span_ids,
    succeeded,
)
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import median
from aiops.detection.core.types import Finding

SIGNAL = "shift"
TYPE = AnomalyType.SHIFT
MIN_CYCLES = 20
# Requests the judged cycles must hold together, for an endpoint with busy
# cycles (``Baseline.busy_cycles``): the median of fewer latencies with a long
# tail is too skewed for a test in standard deviations (the usual rule of thumb
# for a normal approximation; a quiet evening's cycles hold one to three each).
MIN_REQUESTS = 20


def _deviation(ctx: DetectContext) -> tuple[int, float, float] | None:
    """(k, median of the last k cycles, z) of the first rule that holds."""
    cfg, baseline = ctx.config, ctx.baseline
    if ctx.cycle_median is None or baseline.cycle_count < MIN_CYCLES:
        return None
    mean = baseline.cycle_mean
    if baseline.cycle_var <= 0 or mean <= 0:
        return None
    medians = baseline.recent_medians + [ctx.cycle_median]
    counts = baseline.recent_counts + [ctx.cycle_samples]
    for k, z in cfg.shift_rules:
        if len(medians) < k:
            continue
        samples = max(sum(counts[-k:]), 1)
        if samples < cfg.min_window_samples:
            # One request (or two) of an endpoint that never was busy: a slow
            # one is the latency detector's to judge, against the tail rate
            # its evidence allows (``slowness.tail_rate``), never a shift.
            continue
        if baseline.busy_cycles and samples < MIN_REQUESTS:
            # Medians of a few requests of an endpoint that is busy at other
            # times are not its typical latency: a slow one among so few is the
            # latency detector's to judge (it knows how often single requests
            # are slow; a normal approximation of the skewed median of a
            # handful does not). An endpoint that never has busy cycles (a
            # probe, a gauge, a job) learned its cycle-to-cycle variance from
            # cycles like these and is judged on them.
            continue
        center = median(medians[-k:])
        # The median of few requests wanders more: add its sampling variance
        # (pi/2 * variance / n for a median) to the usual cycle-to-cycle one.
        sd = math.sqrt(baseline.cycle_var + math.pi / 2 * baseline.within_var / samples)
        change = center - mean
        if abs(change) >= z * sd and abs(change) >= cfg.shift_min_change * mean:
            return k, center, change / sd
    return None


def detect(ctx: DetectContext) -> Verdict:
    found = _deviation(ctx)
    if found is None:
        return Verdict(SIGNAL)
    cycles, observed, z = found
    # Judged without the time of day; shown as the user sees it.
    factor = math.exp(ctx.baseline.season_offset(ctx.now))
    expected = ctx.baseline.cycle_mean * factor
    observed *= factor
    up = observed > expected
    spans = sorted(filter(succeeded, ctx.window.spans), key=lambda s: s.start)
    shown = [s for s in spans if (s.duration_ms > expected) == up] or spans
    direction = "up" if up else "down"
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=observed,
        expected=expected,
        sample_count=len(spans),
        severity="medium" if up else "low",
        summary=f"Latency shift {direction}: {observed:.0f}ms "
        f"(usually: {expected:.0f}ms{seasonal_note(ctx.baseline, ctx.now)})",
        window_start=spans[0].start if spans else ctx.window.start,
        window_end=ctx.window.end,
        bad_span_ids=span_ids(shown),
        example_trace_ids=example_traces(shown, ctx.config.max_example_traces),
        detail={"z": round(z, 2), "cycles": cycles, "direction": direction},
    )
    return Verdict(SIGNAL, finding, suspicious=True)
