"""Calls missing: an endpoint that answers, and answers successfully, without the
calls it usually makes.

A code fault that returns early, or catches an exception and answers anyway,
leaves no error status and often no latency change: what changes is the shape of
the request. The call graph says how many calls to each callee a successful
request of each caller usually makes (``CallEdge.calls_per_request``, learned
per request, so a surge of requests is not fewer calls per request); when the
caller's successful requests in the window made a small share of the calls they
usually make, and that many missing calls are implausible for a Poisson count,
the caller is flagged: the requests that skipped the call are the evidence. A
caller whose calls look that collapsed (significantly or not) is suspicious:
its calls per request are not learned until it recovers, or until the change
has lasted ``relearn_after`` (a release that dropped the call for good).

The fault is the caller's own code, whatever its traces show (``rca.build_groups``).

Only drops are judged (a callee called more often, e.g. retries, shows in the
callee's own latency or errors), only for callers with enough requests to expect
``MIN_EXPECTED`` calls, and only successful requests count: a failed request
skipping its later calls is the error detector's finding.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from aiops.detection.config import DetectionConfig
from aiops.detection.core.database import is_database
from aiops.detection.core.detectors.base import example_traces, span_ids
from aiops.detection.core.kinds import AnomalyType
from aiops.detection.core.stats import poisson_at_most
from aiops.detection.core.types import Baseline, CallEdge, EndpointKey, Finding, SpanRow
from aiops.detection.core.window import TraceIndex

# Calls the window's requests should have made at least, to judge a drop.
MIN_EXPECTED = 20.0
# The calls made must be at most this share of the usual: a quarter. Requests
# differ in how many calls they make (a cart of one item or of ten), far more
# than a Poisson count allows, so only a collapse counts.
MAX_SHARE = 0.25
# How unlikely a collapse must be to count as suspicious (learning pauses).
SUSPICIOUS = 1e-3


def callee_keys(span: SpanRow, index: TraceIndex) -> Counter[EndpointKey]:
    """How many calls a span made to each endpoint that answered it."""
    return Counter(t.key for t, _ in index.calls_of(span) if t is not None)


def detect(
    *,
    by_endpoint: dict[EndpointKey, list[SpanRow]],
    index: TraceIndex,
    edges: list[CallEdge],
    baselines: dict[EndpointKey, Baseline],
    window_start: float,
    now: float,
    config: DetectionConfig,
    evidence_since: dict[EndpointKey, float] | None = None,
) -> tuple[list[Finding], set[EndpointKey]]:
    """The findings, and the callers whose calls look collapsed (suspicious).
    ``evidence_since``: per caller, requests before it were seen by an operator
    who resolved their incident; they open nothing."""
    usual: dict[EndpointKey, dict[EndpointKey, float]] = defaultdict(dict)
    for edge in edges:
        caller = baselines.get(edge.caller)
        # Fewer queries (a cache, a fixed N+1) is no missing answer.
        if is_database(edge.callee):
            continue
        if (
            edge.calls_per_request
            and caller is not None
            and caller.knows_enough(config.min_baseline_samples)
        ):
            usual[edge.caller][edge.callee] = edge.calls_per_request
    # The whole window and its recent half: calls that stopped seconds before a
    # cycle are missing from the recent half long before from the whole window.
    starts = (window_start, now - (now - window_start) / 2)
    level = config.significance / len(starts)
    findings: list[Finding] = []
    suspicious: set[EndpointKey] = set()
    for caller_key, per_request in sorted(usual.items()):
        served = [
            s
            for s in by_endpoint.get(caller_key, [])
            if not s.is_error and s.span_id and s.start > window_start
        ]
        if not served:
            continue
        resolved = (evidence_since or {}).get(caller_key)
        made = {s.span_id: callee_keys(s, index) for s in served}
        worst: tuple[float, EndpointKey, int, float, list[SpanRow]] | None = None
        for since in starts:
            requests = [s for s in served if s.start > since]
            for callee, rate in sorted(per_request.items()):
                expected = rate * len(requests)
                if expected < MIN_EXPECTED:
                    continue
                observed = sum(made[s.span_id][callee] for s in requests)
                if observed > MAX_SHARE * expected:
                    continue
                p_value = poisson_at_most(observed, expected)
                if p_value <= SUSPICIOUS:
                    suspicious.add(caller_key)
                if resolved is not None and since < resolved:
                    # Judged again on the requests after the resolve alone.
                    fresh = [s for s in requests if s.start > resolved]
                    expected = rate * len(fresh)
                    observed = sum(made[s.span_id][callee] for s in fresh)
                    if expected < MIN_EXPECTED or observed > MAX_SHARE * expected:
                        continue
                    p_value = poisson_at_most(observed, expected)
                    requests = fresh
                if p_value <= level and (worst is None or p_value < worst[0]):
                    worst = (p_value, callee, observed, expected, requests)
        if worst is None:
            continue
        p_value, callee, observed, expected, requests = worst
        skipped = [s for s in requests if not made[s.span_id][callee]]
        share = observed / expected
        findings.append(
            Finding(
                key=caller_key,
                type=AnomalyType.CALLS,
                observed=float(observed),
                expected=round(expected, 3),
                sample_count=len(requests),
                severity="high",
                summary=(
                    f"Calls missing: {observed} calls to {callee.label()} where "
                    f"{expected:.0f} were usual ({share:.0%}), in requests that "
                    "succeeded"
                ),
                window_start=min(s.start for s in requests),
                window_end=now,
                bad_span_ids=span_ids(skipped),
                example_trace_ids=example_traces(skipped, config.max_example_traces),
                detail={
                    "callee": callee.label(),
                    "calls": observed,
                    "expected_calls": round(expected, 3),
                    "requests": len(requests),
                    "p_value": p_value,
                },
            )
        )
    return findings, suspicious
