"""Latency anomaly: significantly many requests slower than ratio x baseline.

Counting slow requests (rather than comparing a mean) is what makes "one slow
request in a quiet window" harmless and a real slowdown obvious within one cycle:
the test asks whether k slow requests out of n are plausible given how often this
endpoint is that slow when healthy.
"""

from __future__ import annotations

from detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    most_significant,
    span_ids,
    stretches,
)
from detection.core.stats import median
from detection.core.types import Finding

SIGNAL = "latency"
TYPE = "latency_anomaly"
# Healthy endpoints are assumed to be this slow this often, at least, so that a
# baseline learned from very regular traffic does not make any blip significant.
MIN_TAIL_FRACTION = 0.01


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline = ctx.config, ctx.baseline
    if not ctx.judged_enough or not ctx.window.judged:
        return Verdict(SIGNAL)
    expected = baseline.level_ms
    threshold = expected * cfg.latency_ratio
    evidence = stretches(ctx, lambda s: s.duration_ms > threshold)
    whole = evidence[0]
    # Relaxed criteria: enough to pause learning and to keep an open incident open.
    suspicious = any(
        len(e.bad) >= 2 and e.fraction >= cfg.min_slow_fraction / 2 for e in evidence
    )
    if not suspicious:
        return Verdict(SIGNAL)
    best = most_significant(
        evidence,
        base_rate=max(baseline.tail_fraction, MIN_TAIL_FRACTION),
        min_bad=cfg.min_slow_samples,
        min_fraction=cfg.min_slow_fraction,
        significance=cfg.significance,
    )
    if best is None and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)

    shown = best or whole
    slow = shown.bad or whole.bad
    if not slow:
        return Verdict(SIGNAL, suspicious=True)
    # "Current latency" is that of the slow requests: what the affected users see.
    observed = median([s.duration_ms for s in slow])
    ratio = observed / expected if expected else 0.0
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=observed,
        expected=expected,
        sample_count=len(shown.spans),
        severity="high" if ratio >= 5 else "medium",
        summary=f"Latency spike: {observed:.0f}ms (baseline: {expected:.0f}ms)",
        window_start=min(s.start for s in shown.spans),
        window_end=ctx.window.end,
        bad_span_ids=span_ids(slow),
        example_trace_ids=example_traces(slow, cfg.max_example_traces),
        detail={
            "slow_requests": len(slow),
            "slow_fraction": round(shown.fraction, 4),
            "window_p50_ms": round(median([s.duration_ms for s in shown.spans]), 3),
            "threshold_ms": round(threshold, 3),
            "p_value": shown.p_value if best else None,
        },
        opens_incident=best is not None,
    )
    return Verdict(SIGNAL, finding, suspicious=True)
