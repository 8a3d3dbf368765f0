"""The database as a callee: one call per request that ran queries.

A request span that carries its database time (``SpanRow.query_ms``, from the
middleware's query capture) gets a child span here, in the cycle's data only:
an endpoint span of the pseudo-service ``database`` whose endpoint is the
calling service (the database as that service sees it), lasting the
request's total query time. So the database is one more endpoint with a
learned baseline (per-request database time), a latency and a shift detector,
a call edge from every endpoint that queries it, and a place trace RCA can
walk to: when queries get slow for many endpoints at once, every slow request's
excess leads into that one child, and the incident's root is the database;
when an endpoint's own code got slow, its database child did not, and the root
stays the endpoint.

Made in the core rather than written as rows: no second row per request, the
stored spans stay one per request, and replay and export carry the same data.
The child starts with its request: queries and outgoing calls of a
synchronous view run one after the other, so its time is taken off the
request's own time as a sum (``window.TraceIndex.self_time``), never as an
interval that could overlap the calls.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiops.detection.core.types import EndpointKey, SpanRow

DATABASE = "database"
# Appended to the request's span id: the child's id, unique in its trace.
_CHILD_ID = "-db"
_ENDPOINT_KINDS = frozenset({"server", "consumer"})


def database_key(service: str) -> EndpointKey:
    return EndpointKey(DATABASE, service)


def is_database(key: EndpointKey) -> bool:
    return key.service == DATABASE


def database_calls(spans: Iterable[SpanRow]) -> list[SpanRow]:
    """The database children of the request spans that ran queries."""
    return [
        SpanRow(
            DATABASE,
            span.service,
            "server",
            span.start,
            span.query_ms,
            None,
            False,
            span.trace_id,
            span.span_id + _CHILD_ID,
            span.span_id,
            late=span.late,
        )
        for span in spans
        if span.query_count
        and span.query_ms is not None
        and span.span_id
        and span.kind in _ENDPOINT_KINDS
        and span.service != DATABASE
    ]


def with_database_calls(spans: list[SpanRow]) -> list[SpanRow]:
    children = database_calls(spans)
    return spans + children if children else spans
