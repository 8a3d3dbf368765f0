"""Query count up: an endpoint's requests run far more queries than they used to.

A deploy that drops a ``select_related``, a filter that stopped using a
prefetch, a page that grew: most (``MIN_SHARE``) of the endpoint's captured
requests that succeeded ran at least ``RATIO`` times the learned queries per
request and ``MIN_EXTRA`` queries more (5 -> 50 is one; 2 -> 6 is not worth a
page). Most, not half: an endpoint whose requests are light or heavy (a list
of 2 queries, a report of 30) moves its median when the mix moves, and a
mix is no regression; code that got worse makes nearly all of them heavier.
Judged over the window and its recent half, so a change that began within
the cycle is seen at once. The baseline (``Baseline.query_level``, a median)
learns only from cycles that look normal, and relearns after
``relearn_after``: a count nobody brought back becomes the new normal.
"""

from __future__ import annotations

from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    span_ids,
    stretches,
)
from aiops.detection.core.detectors.n_plus_one import quoted, repeating
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import median
from aiops.detection.core.types import Finding, SpanRow

SIGNAL = "queries"
TYPE = AnomalyType.QUERY_COUNT
RATIO = 3.0
MIN_EXTRA = 10.0
MIN_SHARE = 0.75
# Captured requests a stretch needs to be judged (a median of fewer is one
# request's page size).
MIN_REQUESTS = 5


def _counted(span: SpanRow) -> bool:
    return span.query_count is not None and not span.is_error


def detect(ctx: DetectContext) -> Verdict:
    baseline = ctx.baseline
    level = baseline.query_level
    if level is None or baseline.query_samples < ctx.config.min_baseline_samples:
        return Verdict(SIGNAL)
    window = ctx.window
    bar = max(RATIO * level, level + MIN_EXTRA)
    # The whole window and its recent half.
    judged = [
        e
        for e in stretches(ctx, lambda s: s.query_count >= bar, keep=_counted)[:2]
        if len(e.spans) >= MIN_REQUESTS
    ]
    worst = max(judged, key=lambda e: e.fraction, default=None)
    if worst is None or worst.fraction < 0.5:
        return Verdict(SIGNAL)
    share, spans, bad = worst.fraction, worst.spans, worst.bad
    opens = share >= MIN_SHARE
    if not opens and not ctx.in_incident:
        # Half of them: not enough to page, too many to learn from.
        return Verdict(SIGNAL, suspicious=True)
    observed = median([float(s.query_count) for s in spans])
    endpoint = window.key.endpoint
    summary = (
        f"Query count up in {endpoint}: {observed:.0f} queries per request "
        f"(usually {level:.0f})"
    )
    detail = {
        "view": endpoint,
        "queries_per_request": observed,
        "usual_queries_per_request": round(level, 2),
        "requests": len(spans),
        "share": round(share, 4),
    }
    statements = [s for s in bad if repeating(s)]
    if statements:
        top = max(statements, key=lambda s: s.top_query_count)
        summary += f"; {quoted(top.top_query)} runs {top.top_query_count} times"
        detail["statement"] = top.top_query
        detail["statement_repeats"] = top.top_query_count
    finding = Finding(
        key=window.key,
        type=TYPE,
        observed=observed,
        expected=level,
        sample_count=len(spans),
        severity="medium" if observed >= 10 * max(level, 1.0) else "low",
        summary=summary,
        window_start=min(s.start for s in spans),
        window_end=window.end,
        bad_span_ids=span_ids(bad),
        example_trace_ids=example_traces(bad, ctx.config.max_example_traces),
        detail=detail,
        opens_incident=opens,
        onset=min((s.start for s in bad), default=None),
    )
    return Verdict(SIGNAL, finding, suspicious=True)
