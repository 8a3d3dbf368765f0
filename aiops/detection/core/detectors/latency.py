"""Latency anomaly: significantly many requests slower than ratio x baseline.

Counting slow requests (rather than comparing a mean) is what makes "one slow
request in a quiet window" harmless and a real slowdown obvious within one cycle:
the test asks whether k slow requests out of n are plausible given how often this
endpoint is that slow when healthy.

A request is slow when it took ``latency_ratio`` times the learned latency, or when
its own time (without the calls it made) took that many times the learned own time
and that alone added a quarter of the usual latency: an endpoint whose own code
slowed down is caught even when its calls dominate its latency. Either way it must
also be ``latency_min_delta_ms`` slower than usual: a 1 ms health check that took
3 ms is not a latency spike anyone would page for.

Real traffic is bursty: a pause slows every request in flight for a moment. Slow
requests clustered in time count as fewer independent ones (``slowness.clustering``
measures by how much, in each stretch, leaving out the run of slow moments a
fault that just began would make).

While several versions of the service serve side by side, a version whose own
requests are slow far more often than the others' is a finding even when the
endpoint as a whole is not (a canary on a tenth of the traffic).
"""

from __future__ import annotations

from aiops.detection.core import slowness
from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    most_significant,
    seasonal_note,
    span_ids,
    stretches,
    succeeded,
    worst_version,
)
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import median
from aiops.detection.core.types import Finding

SIGNAL = "latency"
TYPE = AnomalyType.LATENCY


def slow_test(ctx: DetectContext):
    """The predicate "this request was slow", and whether own time is judged."""
    return slowness.slow_predicate(ctx.config, ctx.baseline, ctx.self_time)


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline = ctx.config, ctx.baseline
    if not ctx.judged_enough or not any(map(succeeded, ctx.window.judged)):
        return Verdict(SIGNAL)
    is_slow, judges_own = slow_test(ctx)
    evidence = stretches(ctx, is_slow, keep=succeeded)
    whole = evidence[0]
    versioned = worst_version(
        whole,
        floor=slowness.tail_rate(baseline),
        min_bad=cfg.min_slow_samples,
        min_fraction=cfg.min_slow_fraction,
        significance=cfg.significance,
    )
    # Relaxed criteria: enough to pause learning and to keep an open incident open.
    suspicious = versioned is not None or any(
        len(e.bad) >= 2 and e.fraction >= cfg.min_slow_fraction / 2 for e in evidence
    )
    if not suspicious:
        return Verdict(SIGNAL)
    best = most_significant(
        evidence,
        base_rate=slowness.tail_rate(baseline),
        min_bad=cfg.min_slow_samples,
        min_fraction=cfg.min_slow_fraction,
        significance=cfg.significance,
        dispersion=lambda e: slowness.clustering(e.spans, e.bad),
    )
    version = None
    if best is None and versioned is not None:
        version, best, _ = versioned
    if best is None and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)

    shown = best or whole
    slow = shown.bad or whole.bad
    if not slow:
        return Verdict(SIGNAL, suspicious=True)
    # "Current latency" is that of the slow requests: what the affected users see.
    observed = median([s.duration_ms for s in slow])
    # Expected at the time the slow requests came (the time of day may differ
    # from the cycle's: a quarter hour may have just begun).
    latest = max(s.start for s in slow)
    expected = baseline.reference_at(latest)
    season = seasonal_note(baseline, latest)
    summary = f"Latency spike: {observed:.0f}ms (baseline: {expected:.0f}ms{season})"
    if version is not None:
        summary = (
            f"Latency spike on version {version}: {observed:.0f}ms "
            f"(baseline: {expected:.0f}ms), {shown.fraction:.0%} of its requests"
        )
    detail = {
        "slow_requests": len(slow),
        "slow_fraction": round(shown.fraction, 4),
        "window_p50_ms": round(median([s.duration_ms for s in shown.spans]), 3),
        "threshold_ms": round(slowness.threshold_ms(cfg, expected), 3),
        "p_value": shown.p_value if best else None,
    }
    if version is not None:
        detail["version"] = version
    if season:
        detail["seasonal_factor"] = round(expected / baseline.reference_ms, 3)
        detail["usual_baseline_ms"] = round(baseline.reference_ms, 3)
    if judges_own and observed <= slowness.threshold_ms(cfg, expected):
        # Slow in its own code rather than overall: say so, with the own times.
        own_times = [t for t in (ctx.self_time(s) for s in slow) if t is not None]
        if own_times:
            own = median(own_times)
            summary = (
                f"Latency spike: own time {own:.0f}ms (baseline: "
                f"{baseline.self_time_ms:.0f}ms), {observed:.0f}ms in all"
            )
            detail["own_time_ms"] = round(own, 3)
    ratio = observed / expected if expected else 0.0
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=observed,
        expected=expected,
        sample_count=len(shown.spans),
        severity="high" if ratio >= 5 else "medium",
        summary=summary,
        window_start=min(s.start for s in shown.spans),
        window_end=ctx.window.end,
        bad_span_ids=span_ids(slow),
        example_trace_ids=example_traces(slow, cfg.max_example_traces),
        detail=detail,
        opens_incident=best is not None,
        onset=min(s.start for s in slow),
    )
    return Verdict(SIGNAL, finding, suspicious=True)
