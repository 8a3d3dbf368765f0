"""Per-cycle views of the spans: by endpoint, and by trace for RCA."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiops.detection.core.database import DATABASE
from aiops.detection.core.types import Baseline, EndpointKey, SpanRow

ENDPOINT_KINDS = frozenset({"server", "consumer"})
# The bucket of requests no route matched (telemetry.models.Span.UNMATCHED_ENDPOINT).
UNMATCHED = "unmatched"


@dataclass
class EndpointWindow:
    """The spans one endpoint is judged on in one cycle."""

    key: EndpointKey
    start: float
    end: float
    spans: list[SpanRow] = field(default_factory=list)  # in the window
    borrowed: list[SpanRow] = field(default_factory=list)  # older, for quiet endpoints

    @property
    def judged(self) -> list[SpanRow]:
        return self.spans + self.borrowed


class TraceIndex:
    """Spans of the window by id and by parent, to walk call trees."""

    def __init__(self, spans: Iterable[SpanRow]) -> None:
        self._self_times: dict[str, float | None] = {}
        self.by_id: dict[str, SpanRow] = {}
        self.children: dict[str, list[SpanRow]] = defaultdict(list)
        for span in spans:
            if span.span_id:
                self.by_id[span.span_id] = span
            if span.parent_span_id:
                self.children[span.parent_span_id].append(span)

    def children_of(self, span: SpanRow) -> list[SpanRow]:
        if not span.span_id:
            return []
        return self.children.get(span.span_id, [])

    def calls_of(self, span: SpanRow) -> list[tuple[SpanRow | None, SpanRow | None]]:
        """The calls a span made, as (callee's endpoint span, CLIENT span): an
        endpoint child is called directly (no CLIENT span); a CLIENT child leads to
        the endpoint spans under it, or to none when nobody answered; internal
        children are looked through."""
        result: list[tuple[SpanRow | None, SpanRow | None]] = []
        for child in self.children_of(span):
            if child.kind in ENDPOINT_KINDS:
                result.append((child, None))
            elif child.kind == "client":
                targets = [
                    g for g in self.children_of(child) if g.kind in ENDPOINT_KINDS
                ]
                result.extend((t, child) for t in targets)
                if not targets:
                    result.append((None, child))
            else:  # internal work inside the same endpoint
                result.extend(self.calls_of(child))
        return result

    def self_time(self, span: SpanRow) -> float | None:
        """Duration minus the time covered by its children (overlaps counted once).

        None when the span has no recorded children: its self time is then its
        duration, but we have no evidence that it calls anything. Database time
        (``core.database``) is taken off as a sum: it is the request's queries
        together, which ran between its other calls, not alongside them.
        """
        if span.span_id and span.span_id in self._self_times:
            return self._self_times[span.span_id]
        value = self._compute_self_time(span)
        if span.span_id:
            self._self_times[span.span_id] = value
        return value

    def _compute_self_time(self, span: SpanRow) -> float | None:
        children = self.children_of(span)
        if not children:
            return None
        begin, finish = span.start, span.start + span.duration_ms / 1000.0
        queries = sum(c.duration_ms for c in children if c.service == DATABASE)
        intervals = sorted(
            (max(c.start, begin), min(c.start + c.duration_ms / 1000.0, finish))
            for c in children
            if c.service != DATABASE
        )
        covered = 0.0
        current_start, current_end = None, None
        for low, high in intervals:
            if high <= low:
                continue
            if current_end is None or low > current_end:
                if current_end is not None:
                    covered += current_end - current_start
                current_start, current_end = low, high
            else:
                current_end = max(current_end, high)
        if current_end is not None:
            covered += current_end - current_start
        return max(span.duration_ms - covered * 1000.0 - queries, 0.0)


def _rpc_name(endpoint: str) -> str:
    name = endpoint.lstrip("/")
    return name.removeprefix("grpc.")


def is_hop(caller: SpanRow, callee: SpanRow, index: TraceIndex) -> bool:
    """``caller`` is the calling side of one call to another service, recorded
    without the CLIENT kind: named after the operation it calls (as RPC
    instrumentations name client spans), with that call as its only child. Its
    own time is then the network (and queues) between the two, not work."""
    if (
        caller.service == callee.service
        or caller.kind not in ENDPOINT_KINDS
        or callee.service == DATABASE
    ):
        return False
    if _rpc_name(caller.endpoint) != _rpc_name(callee.endpoint):
        return False
    return len(index.children_of(caller)) == 1


def call_timer(
    caller: SpanRow, callee: SpanRow, client: SpanRow | None, index: TraceIndex
) -> SpanRow | None:
    """The span that timed a call from the caller's side: its CLIENT span, or the
    caller itself when it is a hop; None when only the callee timed it."""
    if client is not None:
        return client
    return caller if is_hop(caller, callee, index) else None


def group_by_endpoint(spans: Iterable[SpanRow]) -> dict[EndpointKey, list[SpanRow]]:
    grouped: dict[EndpointKey, list[SpanRow]] = defaultdict(list)
    for span in spans:
        if span.kind in ENDPOINT_KINDS:
            grouped[span.key].append(span)
    return grouped


def expected_duration(
    baselines: dict[EndpointKey, Baseline], key: EndpointKey
) -> float | None:
    baseline = baselines.get(key)
    if baseline is None or baseline.sample_count == 0:
        return None
    return baseline.level_ms
