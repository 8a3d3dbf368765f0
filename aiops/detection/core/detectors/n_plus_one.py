"""N+1 queries: an endpoint whose requests run one statement many times each.

The ORM mistake every Django project meets: a loop over a list that touches a
relation of each item, one query per item. The middleware records, per request,
the statement it ran most often (normalised: without values) and how often
(``aiops.telemetry.queries``). An endpoint is flagged when at least
``MIN_REQUESTS`` of its requests in the window each ran one statement at least
``MIN_REPEATS`` times, and they are most (``MIN_SHARE``) of its requests whose
queries were captured. No baseline is needed: ten identical lookups in one
request are a defect whatever the endpoint did yesterday, so a new endpoint is
judged from its first requests. A statement run three times (a view that looks
up three things) is no N+1, and neither is one request in many (a rare big
page).

While its incident is open, a single such request, or such requests among
fewer than most, keep it open (and open nothing).
"""

from __future__ import annotations

from collections import defaultdict

from aiops.detection.core.detectors.base import (
    DetectContext,
    Verdict,
    example_traces,
    span_ids,
)
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import median
from aiops.detection.core.types import Finding, SpanRow

# Not the "queries" signal of the baseline: an N+1 the endpoint always had is
# its usual query count, and the level must learn it.
SIGNAL = "n_plus_one"
TYPE = AnomalyType.N_PLUS_ONE
# Runs of one statement in one request from which it is an N+1. Views that
# look up a handful of things (a user, a session, a cart, its lines) repeat a
# statement a few times; ten is a loop.
MIN_REPEATS = 10
# Requests of the window showing it, and the share of captured requests.
MIN_REQUESTS = 3
MIN_SHARE = 0.5
# The statement as quoted in the summary (the whole of it is in the detail).
QUOTED_CHARS = 120


def repeating(span: SpanRow) -> bool:
    return span.top_query_count >= MIN_REPEATS and bool(span.top_query)


def quoted(statement: str) -> str:
    if len(statement) > QUOTED_CHARS:
        statement = statement[: QUOTED_CHARS - 3] + "..."
    return f'"{statement}"'


def detect(ctx: DetectContext) -> Verdict:
    captured = [s for s in ctx.window.judged if s.query_count is not None]
    by_statement: dict[str, list[SpanRow]] = defaultdict(list)
    for span in captured:
        if repeating(span):
            by_statement[span.top_query].append(span)
    if not by_statement:
        return Verdict(SIGNAL)
    statement, spans = max(
        by_statement.items(), key=lambda item: (len(item[1]), item[0])
    )
    share = len(spans) / len(captured)
    opens = len(spans) >= MIN_REQUESTS and share >= MIN_SHARE
    if not opens and not ctx.in_incident:
        return Verdict(SIGNAL, suspicious=True)
    repeats = median([float(s.top_query_count) for s in spans])
    endpoint = ctx.window.key.endpoint
    finding = Finding(
        key=ctx.window.key,
        type=TYPE,
        observed=repeats,
        # A statement that ought to run once per request.
        expected=1.0,
        sample_count=len(captured),
        severity="medium" if repeats >= 100 else "low",
        summary=(
            f"N+1 queries in {endpoint}: {quoted(statement)} runs "
            f"{repeats:.0f} times per request"
        ),
        window_start=min(s.start for s in spans),
        window_end=ctx.window.end,
        bad_span_ids=span_ids(spans),
        example_trace_ids=example_traces(spans, ctx.config.max_example_traces),
        detail={
            "view": endpoint,
            "statement": statement,
            "repeats_per_request": repeats,
            "max_repeats": max(s.top_query_count for s in spans),
            "requests": len(spans),
            "captured_requests": len(captured),
            "share": round(share, 4),
            "queries_per_request": median([float(s.query_count) for s in spans]),
        },
        opens_incident=opens,
        onset=min(s.start for s in spans),
    )
    return Verdict(SIGNAL, finding, suspicious=True)
