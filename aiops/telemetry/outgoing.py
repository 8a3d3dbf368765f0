"""CLIENT spans for calls a view makes to other services.

What OpenTelemetry's HTTP client instrumentation records: a span per outgoing call,
the child of the request's server span and the parent of the callee's server span
(its id travels in ``traceparent``). A call that never gets an answer still leaves
this span, which is how RCA names a callee that went silent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiops.conf import settings
from aiops.telemetry.records import SpanRecord
from aiops.telemetry.scrubbing import scrub_message
from aiops.telemetry.trace_context import TraceContext, new_span_id
from aiops.telemetry.writer import record_span


@dataclass
class OutgoingCall:
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None


@contextmanager
def outgoing_call(
    context: TraceContext | None, *, method: str, url: str, name: str
) -> Iterator[OutgoingCall]:
    """Time one call; set ``call.status`` when an answer arrives."""
    if context is None:
        yield OutgoingCall()
        return
    span_id = new_span_id()
    call = OutgoingCall(
        headers={"traceparent": f"00-{context.trace_id}-{span_id}-{context.flags}"}
    )
    started_at = time.time()
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        yield call
    except Exception as exc:
        error = exc
        raise
    finally:
        failed = error is not None or call.status is None or call.status >= 500
        record_span(
            SpanRecord(
                service=settings.AIOPS_SERVICE_NAME,
                endpoint=name,
                kind="client",
                method=method,
                start_time=datetime.fromtimestamp(started_at, tz=UTC),
                duration_ms=(time.perf_counter() - started) * 1000.0,
                status_code=call.status,
                trace_id=context.trace_id,
                span_id=span_id,
                parent_span_id=context.span_id,
                is_error=failed,
                error_type=type(error).__name__ if error else "",
                error_message=scrub_message(str(error)) if error else "",
                peer=urlsplit(url).netloc,
            )
        )
