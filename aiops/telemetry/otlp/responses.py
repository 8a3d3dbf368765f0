"""OTLP/HTTP responses, in the content type of the request."""

from __future__ import annotations

from django.http import HttpResponse
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from aiops.telemetry.otlp.decoding import JSON, PROTOBUF

_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    413: code_pb2.INVALID_ARGUMENT,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


def _render(message, kind: str, status: int) -> HttpResponse:
    if kind == JSON:
        body = json_format.MessageToJson(message, indent=None)
        return HttpResponse(body, status=status, content_type=JSON)
    return HttpResponse(
        message.SerializeToString(), status=status, content_type=PROTOBUF
    )


def success(kind: str, *, rejected: int = 0, message: str = "") -> HttpResponse:
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    return _render(response, kind, 200)


def failure(
    kind: str, status: int, message: str, *, retry_after: int | None = None
) -> HttpResponse:
    """A google.rpc.Status body, as the OTLP specification asks for errors."""
    response = _render(
        status_pb2.Status(code=_CODES.get(status, code_pb2.UNKNOWN), message=message),
        kind if kind in (JSON, PROTOBUF) else JSON,
        status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="otlp"'
    return response
