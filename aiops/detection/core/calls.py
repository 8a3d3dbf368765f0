"""Who calls whom: caller -> callee edges seen in a cycle's traces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiops.detection.core.types import EndpointKey, SpanRow
from aiops.detection.core.window import ENDPOINT_KINDS, TraceIndex, call_timer


@dataclass
class CallStats:
    calls: int = 0
    # Of those, calls made by caller spans that succeeded (what ``missing_calls``
    # counts per successful request).
    served_calls: int = 0
    errors: int = 0
    latency_total_ms: float = 0.0  # the callee's SERVER span durations
    offset_total_ms: float = 0.0
    gap_total_ms: float = 0.0
    gap_calls: int = 0
    client_endpoint: str = ""
    peer: str = ""

    @property
    def offset_ms(self) -> float:
        return self.offset_total_ms / self.calls if self.calls else 0.0


def collect_calls(
    spans: list[SpanRow], index: TraceIndex, is_new: Callable[[SpanRow], bool]
) -> dict[tuple[EndpointKey, EndpointKey], CallStats]:
    """Edges among the endpoint spans that are new in this cycle."""
    stats: dict[tuple[EndpointKey, EndpointKey], CallStats] = {}
    for span in spans:
        if span.kind not in ENDPOINT_KINDS or not is_new(span):
            continue
        client = None
        parent = index.by_id.get(span.parent_span_id) if span.parent_span_id else None
        # Skip through CLIENT (and internal) spans to the endpoint that made the call.
        while parent is not None and parent.kind not in ENDPOINT_KINDS:
            if parent.kind == "client" and client is None:
                client = parent
            parent = (
                index.by_id.get(parent.parent_span_id)
                if parent.parent_span_id
                else None
            )
        if parent is None or parent.key == span.key:
            continue
        edge = stats.setdefault((parent.key, span.key), CallStats())
        edge.calls += 1
        edge.served_calls += not parent.is_error
        edge.errors += span.is_error
        edge.latency_total_ms += span.duration_ms
        edge.offset_total_ms += (span.start - parent.start) * 1000.0
        if client is not None:
            edge.client_endpoint, edge.peer = client.endpoint, client.peer
        outer = call_timer(parent, span, client, index)
        if outer is not None and not span.is_error:
            edge.gap_total_ms += max(outer.duration_ms - span.duration_ms, 0.0)
            edge.gap_calls += 1
    return stats
