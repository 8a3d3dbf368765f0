"""Request telemetry: one SERVER span per request, recorded without ever breaking it."""

from __future__ import annotations

import logging
import time
import traceback

from django.conf import settings

from telemetry import counters
from telemetry.models import Span
from telemetry.scrubbing import scrub_message, scrub_stack
from telemetry.store import server_row
from telemetry.trace_context import TraceContext, context_from_headers
from telemetry.writer import record_row

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

    def __call__(self, request):
        if request.path_info.startswith(self.exclude):
            return self.get_response(request)
        try:
            context = context_from_headers(
                request.META.get("HTTP_TRACEPARENT"),
                request.META.get("HTTP_X_TRACE_ID"),
            )
            request.trace_context = context
            started_us = time.time_ns() // 1000
            started = time.perf_counter()
        except Exception:  # noqa: BLE001 - telemetry must never break a request
            self._failed("start")
            return self.get_response(request)

        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and getattr(match.func, "not_recorded", False):
            return response

        try:
            duration_ms = (time.perf_counter() - started) * 1000.0
            status = response.status_code
            error: _CapturedError | None = getattr(request, "_aiops_error", None)
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

    @staticmethod
    def _failed(stage: str) -> None:
        counters.add("telemetry_failures")
        logger.exception("Telemetry failed at %s; the request is served anyway", stage)


def not_recorded(view):
    """Mark a view the middleware does not record (the front door: a page about
    this app, not an endpoint of the monitored service)."""
    view.not_recorded = True
    return view
