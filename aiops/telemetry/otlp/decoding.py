"""Turning an OTLP/HTTP request body into an ExportTraceServiceRequest."""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)


class OtlpError(Exception):
    """A request that is refused as a whole; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo Content-Encoding, refusing output beyond ``limit`` (gzip bombs)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise OtlpError(
            415, f"Content-Encoding {encoding!r} is not supported; use gzip"
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
        if len(data) > limit or inflater.unconsumed_tail:
            raise OtlpError(413, f"decompressed payload exceeds {limit} bytes")
        data += inflater.flush()
    except zlib.error as exc:
        raise OtlpError(400, f"body is not valid gzip: {exc}") from None
    if len(data) > limit:
        raise OtlpError(413, f"decompressed payload exceeds {limit} bytes")
    return data


def _hex_to_base64(value):
    """OTLP/JSON writes ids in hex; protobuf's JSON mapping expects base64.

    An id that is not hex becomes empty: that span is then rejected on its own,
    instead of the whole request failing.
    """
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        return ""


_ID_FIELDS = (
    "traceId",
    "spanId",
    "parentSpanId",
    "trace_id",
    "span_id",
    "parent_span_id",
)


def _convert_ids(span: dict) -> None:
    for name in _ID_FIELDS:
        if name in span:
            span[name] = _hex_to_base64(span[name])
    for link in span.get("links") or []:
        if isinstance(link, dict):
            for name in _ID_FIELDS:
                if name in link:
                    link[name] = _hex_to_base64(link[name])


def _from_json(data: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(data or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise OtlpError(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise OtlpError(400, "body is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise OtlpError(400, "body must be a JSON object (ExportTraceServiceRequest)")
    for resource_spans in (
        document.get("resourceSpans") or document.get("resource_spans") or []
    ):
        if not isinstance(resource_spans, dict):
            continue
        scopes = (
            resource_spans.get("scopeSpans") or resource_spans.get("scope_spans") or []
        )
        for scope in scopes if isinstance(scopes, list) else []:
            for span in (scope.get("spans") or []) if isinstance(scope, dict) else []:
                if isinstance(span, dict):
                    _convert_ids(span)
    try:
        return json_format.ParseDict(
            document, ExportTraceServiceRequest(), ignore_unknown_fields=True
        )
    except RecursionError:
        raise OtlpError(400, "body nests too deeply for an OTLP request") from None
    except (json_format.ParseError, TypeError, ValueError, binascii.Error) as exc:
        raise OtlpError(
            400, f"body is not an OTLP ExportTraceServiceRequest: {exc}"
        ) from None


def decode(data: bytes, kind: str) -> ExportTraceServiceRequest:
    if kind == JSON:
        return _from_json(data)
    message = ExportTraceServiceRequest()
    try:
        message.ParseFromString(data)
    except (DecodeError, ValueError) as exc:
        raise OtlpError(400, f"body is not an OTLP protobuf message: {exc}") from None
    return message
