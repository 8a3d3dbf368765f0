"""OTLP spans to span records.

- SERVER and CONSUMER spans are endpoints: ``service.name`` of the resource, the
  endpoint from ``http.route``, else the span name (never ``url.path``: it would
  mint an endpoint per URL), the method from ``http.request.method``, the status
  from ``http.response.status_code`` (older ``http.method``/``http.status_code``
  too).
- CLIENT spans describe calls: kept (kind ``client``) for call edges and network
  time, named by the span name, aimed at ``peer.service``, else
  ``server.address[:server.port]``; never endpoints.
- Spans without HTTP attributes (gRPC, messaging, a worker's job) are endpoints by
  span name with no status code; they count as errors only by span status.
  INTERNAL and PRODUCER spans are kept for trace structure, never endpoints.
- Errors: span status ERROR, an HTTP status >= 500, ``error.type``; type, message
  and stack trace from the ``exception`` event, scrubbed of secrets.
- Rejected (counted in ``partialSuccess``): spans whose trace or span id is not 16
  or 8 non-zero bytes, that end before they start, that start or end further in
  the future than the allowed clock skew (a forged future would open or hide
  incidents when its time comes), or whose service the client's ingest token may
  not write (``aiops.telemetry.ingest_auth``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from aiops.telemetry.cardinality import OVERFLOW
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.scrubbing import clean_name, scrub_message, scrub_stack

UNKNOWN_SERVICE = "unknown_service"
OVERFLOW_REFUSED = (
    "over the caps on distinct endpoint names, and on spans of (other) endpoints "
    "this minute: counted, not stored"
)
KINDS = {
    OtlpSpan.SPAN_KIND_SERVER: "server",
    OtlpSpan.SPAN_KIND_CONSUMER: "consumer",
    OtlpSpan.SPAN_KIND_CLIENT: "client",
    OtlpSpan.SPAN_KIND_PRODUCER: "producer",
}


@dataclass
class Mapped:
    records: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    refused_overflow: int = 0

    @property
    def overflowed(self) -> int:
        """Spans over the name caps: stored as (other), or refused."""
        stored = sum(1 for r in self.records if r.endpoint == OVERFLOW)
        return stored + self.refused_overflow

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if reason not in self.reasons and len(self.reasons) < 5:
            self.reasons.append(reason)


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(any_value, kind)
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        return None  # nothing the mapping reads is structured
    return value


def attributes(key_values) -> dict:
    return {kv.key: _value(kv.value) for kv in key_values}


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 999 else None


def _text(value, limit: int) -> str:
    return "" if value is None else str(value)[:limit]


def _name(value, limit: int) -> str:
    return "" if value is None else clean_name(str(value)[: limit * 2])[:limit]


def _peer(attrs: dict) -> str:
    if attrs.get("peer.service"):
        return _name(attrs["peer.service"], 200)
    host = attrs.get("server.address") or attrs.get("net.peer.name")
    if not host:
        return ""
    port = attrs.get("server.port") or attrs.get("net.peer.port")
    return _name(f"{host}:{port}" if port else host, 200)


def _exception(span) -> tuple[str, str, str]:
    for event in span.events:
        if event.name == "exception":
            attrs = attributes(event.attributes)
            return (
                _text(attrs.get("exception.type"), 200),
                scrub_message(_text(attrs.get("exception.message"), 4000)),
                scrub_stack(_text(attrs.get("exception.stacktrace"), 100_000)),
            )
    return "", "", ""


def _record(
    service: str, span, latest_ns: int, admit: Callable[[str, str], str | None]
) -> SpanRecord | str:
    """A record, or the reason the span is rejected."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace_id must be 16 bytes, not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span_id must be 8 bytes, not all zero"
    if (
        span.start_time_unix_nano == 0
        or span.end_time_unix_nano < span.start_time_unix_nano
    ):
        return "end_time_unix_nano must not be before start_time_unix_nano"
    if span.end_time_unix_nano > latest_ns:
        return "span ends in the future (beyond the allowed clock skew)"
    attrs = attributes(span.attributes)
    kind = KINDS.get(span.kind, "internal")
    status = _int(attrs.get("http.response.status_code", attrs.get("http.status_code")))
    endpoint = _name(attrs.get("http.route") or span.name, 200) or "unnamed"
    if kind in ("server", "consumer"):
        endpoint = admit(service, endpoint)
        if endpoint is None:
            return OVERFLOW_REFUSED
    else:
        endpoint = _name(span.name, 200) or "unnamed"
    error_type, message, stack = _exception(span)
    failed = (
        span.status.code == Status.STATUS_CODE_ERROR
        or (status is not None and status >= 500)
        or bool(attrs.get("error.type"))
    )
    if failed and not error_type:
        error_type = _text(attrs.get("error.type"), 200) or (
            f"HTTP {status}" if status and status >= 500 else "Error"
        )
    if failed and not message:
        message = scrub_message(_text(span.status.message, 4000))
    parent = span.parent_span_id.hex() if len(span.parent_span_id) == 8 else None
    return SpanRecord(
        service=service,
        endpoint=endpoint,
        kind=kind,
        method=_text(
            attrs.get("http.request.method", attrs.get("http.method")), 16
        ).upper(),
        start_time=datetime.fromtimestamp(span.start_time_unix_nano / 1e9, tz=UTC),
        duration_ms=(span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
        status_code=status,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent if parent != "0" * 16 else None,
        is_error=failed,
        error_type=error_type if failed else "",
        error_message=message if failed else "",
        stack_trace=stack if failed else "",
        peer=_peer(attrs) if kind in ("client", "producer") else "",
    )


def map_request(
    request: ExportTraceServiceRequest,
    *,
    now: datetime,
    max_skew: float,
    may_write: Callable[[str], str | None] = lambda service: None,
    admit: Callable[[str, str], str | None] = lambda service, endpoint: endpoint,
) -> Mapped:
    """Records of the request's spans. ``may_write(service)`` is None when the
    client may write spans for that service, else the reason it may not;
    ``admit(service, endpoint)`` is the endpoint name to store (the cardinality
    cap's overflow name when there are too many)."""
    mapped = Mapped()
    latest_ns = int((now.timestamp() + max_skew) * 1e9)
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        service = _name(resource.get("service.name"), 100) or UNKNOWN_SERVICE
        version = _name(resource.get("service.version"), 64)
        refusal = may_write(service)
        for scope_spans in resource_spans.scope_spans:
            if refusal is not None:
                for _ in scope_spans.spans:
                    mapped.reject(refusal)
                continue
            for span in scope_spans.spans:
                result = _record(service, span, latest_ns, admit)
                if isinstance(result, str):
                    mapped.reject(result)
                    mapped.refused_overflow += result is OVERFLOW_REFUSED
                else:
                    result.version = version
                    mapped.records.append(result)
    return mapped
