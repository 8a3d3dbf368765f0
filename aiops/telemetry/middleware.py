"""Request telemetry: one SERVER span per request, recorded without ever breaking it.

The span carries the request's database work (``aiops.telemetry.queries``): queries
run, their time, and the statement run most often.
"""

from __future__ import annotations

import logging
import time
import traceback

from aiops.conf import settings
from aiops.telemetry import counters
from aiops.telemetry.models import Span
from aiops.telemetry.queries import QueryCapture
from aiops.telemetry.scrubbing import scrub_message, scrub_stack
from aiops.telemetry.store import server_row
from aiops.telemetry.trace_context import TraceContext, context_from_headers
from aiops.telemetry.writer import record_row

logger = logging.getLogger(__name__)


class _CapturedError:
    __slots__ = ("type", "message", "stack")

    def __init__(self, exc: BaseException) -> None:
        self.type = type(exc).__name__
        self.message = scrub_message(str(exc))
        self.stack = scrub_stack(
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        )


def record_exception(request, exc: BaseException) -> None:
    """Attach an exception to the request's span.

    For views that handle an error themselves and return a response; an exception
    that escapes a view is captured by the middleware. Only the first one is kept,
    so an error is recorded exactly once.
    """
    if getattr(request, "_aiops_error", None) is None:
        request._aiops_error = _CapturedError(exc)


def trace_context_of(request) -> TraceContext | None:
    return getattr(request, "trace_context", None)


def endpoint_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        # 404s on unknown URLs share one bucket: a scanner cannot mint endpoints.
        return Span.UNMATCHED_ENDPOINT
    if match.url_name:
        return match.view_name  # the name, with its namespace if it has one
    return match.route or Span.UNMATCHED_ENDPOINT


class TelemetryMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.exclude = tuple(settings.AIOPS_TELEMETRY_EXCLUDE_PATHS)
        self.service = settings.AIOPS_SERVICE_NAME
        self.version = settings.AIOPS_SERVICE_VERSION
        self.query_limit = (
            settings.AIOPS_MAX_CAPTURED_QUERIES
            if settings.AIOPS_CAPTURE_QUERIES
            else None
        )

    def __call__(self, request):
        if request.path_info.startswith(self.exclude):
            return self.get_response(request)
        queries: QueryCapture | None = None
        try:
            context = context_from_headers(
                request.META.get("HTTP_TRACEPARENT"),
                request.META.get("HTTP_X_TRACE_ID"),
            )
            request.trace_context = context
            if self.query_limit is not None:
                queries = QueryCapture(self.query_limit)
                queries.install()
            started_us = time.time_ns() // 1000
            started = time.perf_counter()
        except Exception:  # noqa: BLE001 - telemetry must never break a request
            self._failed("start")
            self._stop_capture(queries)
            return self.get_response(request)

        try:
            response = self.get_response(request)
        finally:
            # Before anything is recorded: the span's own write (in the request,
            # with AIOPS_TELEMETRY_SYNC) is not one of the request's queries.
            self._stop_capture(queries)
        match = getattr(request, "resolver_match", None)
        if match is not None and getattr(match.func, "not_recorded", False):
            return response

        try:
            duration_ms = (time.perf_counter() - started) * 1000.0
            status = response.status_code
            error: _CapturedError | None = getattr(request, "_aiops_error", None)
            top_query, top_count = "", 0
            if queries is not None and queries.count:
                top_query, top_count = queries.most_repeated()
                if top_count < 2:
                    top_query = ""  # nothing repeated: no text to keep
            record_row(
                server_row(
                    service=self.service,
                    endpoint=endpoint_of(request),
                    method=request.method or "",
                    status_code=status,
                    duration_ms=duration_ms,
                    start_us=started_us,
                    trace_id=context.trace_id,
                    span_id=context.span_id,
                    parent_span_id=context.parent_span_id,
                    error_type=error.type if error else "",
                    error_message=error.message if error else "",
                    stack_trace=error.stack if error else "",
                    version=self.version,
                    query_count=queries.count if queries is not None else None,
                    query_ms=queries.seconds * 1000.0 if queries is not None else None,
                    top_query=top_query,
                    top_query_count=top_count,
                )
            )
            response["traceparent"] = context.traceparent()
            response["X-Trace-ID"] = context.trace_id
        except Exception:  # noqa: BLE001 - telemetry must never break a request
            self._failed("record")
        return response

    def process_exception(self, request, exception):
        try:
            record_exception(request, exception)
        except Exception:  # noqa: BLE001
            self._failed("exception capture")
        return None

    @classmethod
    def _stop_capture(cls, queries: QueryCapture | None) -> None:
        if queries is None:
            return
        try:
            queries.uninstall()
        except Exception:  # noqa: BLE001 - telemetry must never break a request
            cls._failed("query capture")

    @staticmethod
    def _failed(stage: str) -> None:
        counters.add("telemetry_failures")
        logger.exception("Telemetry failed at %s; the request is served anyway", stage)


def not_recorded(view):
    """Mark a view the middleware does not record (the front door: a page about
    this app, not an endpoint of the monitored service)."""
    view.not_recorded = True
    return view
