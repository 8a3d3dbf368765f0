"""Error spike: a 5xx rate above the threshold that the learned rate cannot explain."""

from __future__ import annotations

from detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    most_significant,
    span_ids,
    stretches,
)
from detection.core.kinds import AnomalyType
from detection.core.types import Finding

SIGNAL = "errors"
TYPE = AnomalyType.ERRORS
MIN_ERROR_RATE = 0.01


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline = ctx.config, ctx.baseline
    if not ctx.window.judged:
        return Verdict(SIGNAL)
    # A noisy endpoint's usual error rate is not a spike: the bar is at least twice it.
    threshold = max(cfg.error_rate_threshold, 2 * baseline.error_rate)
    evidence = [
        e
        for e in stretches(ctx, lambda s: s.is_error)
        if len(e.spans) >= cfg.error_min_requests
    ]
    suspicious = any(len(e.bad) >= 2 and e.fraction > threshold / 2 for e in evidence)
    if not suspicious:
        return Verdict(SIGNAL)
    best = most_significant(
        evidence,
        base_rate=max(baseline.error_rate, MIN_ERROR_RATE),
        min_bad=cfg.min_error_samples,
        # "Above the threshold": strictly, as the prototype's rule says.
        min_fraction=threshold + 1e-9,
        significance=cfg.significance,
    )
    if best is None and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)

    shown = best or max(evidence, key=lambda e: e.fraction)
    failed = shown.bad
    rate = shown.fraction
    n = len(shown.spans)
    statuses: dict[str, int] = {}
    for span in failed:
        label = str(span.status_code) if span.status_code is not None else "error"
        statuses[label] = statuses.get(label, 0) + 1
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=rate,
        expected=baseline.error_rate,
        sample_count=n,
        severity="critical" if rate >= 0.5 else "high",
        summary=f"Error spike: {rate:.0%} of {n} requests failed "
        f"(baseline: {baseline.error_rate:.1%})",
        window_start=min(s.start for s in shown.spans),
        window_end=ctx.window.end,
        bad_span_ids=span_ids(failed),
        example_trace_ids=example_traces(failed, cfg.max_example_traces),
        detail={
            "errors": len(failed),
            "threshold": round(threshold, 4),
            "statuses": statuses,
            "p_value": shown.p_value if best else None,
        },
        opens_incident=best is not None,
    )
    return Verdict(SIGNAL, finding, suspicious=True)
