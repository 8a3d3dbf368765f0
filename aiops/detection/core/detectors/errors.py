"""Error spike: a 5xx rate above the threshold that the learned rate cannot explain.

The learned rate is the endpoint's plain one, or what this quarter hour failed on
each of its recent days when that was more (``seasonal.expected_error_rate``).

Or, while several versions of the service serve side by side, one version whose
own requests fail above the threshold, far more often than the others' (a
canary failing on a tenth of the traffic stays under the endpoint's bar).
"""

from __future__ import annotations

from aiops.detection.core.baseline import MIN_ERROR_RATE
from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    most_significant,
    span_ids,
    stretches,
    worst_version,
)
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.seasonal import day_and_slot, slot_label
from aiops.detection.core.types import Finding

SIGNAL = "errors"
TYPE = AnomalyType.ERRORS


def _seasonal_rate(ctx: DetectContext) -> float:
    """The error rate this time of day usually has (0 when none is learned)."""
    season = ctx.baseline.season
    return season.error_rate_at(ctx.now) if season is not None else 0.0


def detect(ctx: DetectContext) -> Verdict:
    cfg, baseline = ctx.config, ctx.baseline
    if not ctx.window.judged:
        return Verdict(SIGNAL)
    # A noisy endpoint's usual error rate is not a spike: the bar is at least
    # twice it, or twice what this time of day usually fails (a nightly job).
    usual = max(baseline.error_rate, _seasonal_rate(ctx))
    threshold = max(cfg.error_rate_threshold, 2 * usual)
    evidence = [
        e
        for e in stretches(ctx, lambda s: s.is_error)
        if len(e.spans) >= cfg.error_min_requests
    ]
    # "Above the threshold": strictly, as the prototype's rule says.
    above = threshold + 1e-9
    versioned = (
        worst_version(
            evidence[0],
            floor=MIN_ERROR_RATE,
            min_bad=cfg.min_error_samples,
            min_fraction=above,
            significance=cfg.significance,
        )
        if evidence
        else None
    )
    suspicious = versioned is not None or any(
        len(e.bad) >= 2 and e.fraction > threshold / 2 for e in evidence
    )
    if not suspicious:
        return Verdict(SIGNAL)
    best = most_significant(
        evidence,
        base_rate=max(usual, MIN_ERROR_RATE),
        min_bad=cfg.min_error_samples,
        min_fraction=above,
        significance=cfg.significance,
    )
    version = others = None
    if best is None and versioned is not None:
        version, best, others = versioned
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
    expected = usual
    seasonal = usual > baseline.error_rate
    when = f" at {slot_label(day_and_slot(ctx.now)[1])}" if seasonal else ""
    summary = (
        f"Error spike: {rate:.0%} of {n} requests failed "
        f"(baseline: {expected:.1%}{when})"
    )
    detail = {
        "errors": len(failed),
        "threshold": round(threshold, 4),
        "statuses": statuses,
        "p_value": shown.p_value if best else None,
    }
    if version is not None:
        # One version failing beside healthy ones: they are its yardstick.
        expected = others.fraction
        summary = (
            f"Error spike on version {version}: {rate:.0%} of {n} requests failed "
            f"(other versions: {expected:.1%} of {len(others.spans)})"
        )
        detail["version"] = version
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=rate,
        expected=expected,
        sample_count=n,
        severity="critical" if rate >= 0.5 else "high",
        summary=summary,
        window_start=min(s.start for s in shown.spans),
        window_end=ctx.window.end,
        bad_span_ids=span_ids(failed),
        example_trace_ids=example_traces(failed, cfg.max_example_traces),
        detail=detail,
        opens_incident=best is not None,
        onset=min((s.start for s in failed), default=None),
    )
    return Verdict(SIGNAL, finding, suspicious=True)
