"""The plain span record: what the middleware, OTLP ingestion, replay and export share.

Its JSON form is the span-record line format of DESIGN.md:
``{"ts", "service", "endpoint", "method", "status", "duration_ms", "trace_id",
"span_id", "parent_span_id", "error"}``, plus optional ``kind``, ``peer``,
``version`` (of the service that served it) and the request's database work:
``query_count``, ``query_ms``, ``top_query`` (normalised, without values) and
``top_query_count``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiops.telemetry.queries import STATEMENT_CHARS, normalise
from aiops.telemetry.scrubbing import clean_name
from aiops.telemetry.trace_context import is_valid_span_id, is_valid_trace_id

DEFAULT_SERVICE = "default"


class RecordError(ValueError):
    """A span record that cannot be stored; the message names the field."""


@dataclass(slots=True)
class SpanRecord:
    service: str
    endpoint: str
    start_time: datetime
    duration_ms: float
    status_code: int | None = None
    method: str = ""
    kind: str = "server"
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    is_error: bool = False
    error_type: str = ""
    error_message: str = ""
    stack_trace: str = ""
    peer: str = ""
    version: str = ""
    query_count: int | None = None
    query_ms: float | None = None
    top_query: str = ""
    top_query_count: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        error = None
        if self.is_error or self.error_type or self.error_message:
            error = {"type": self.error_type, "message": self.error_message}
        data: dict[str, Any] = {
            "ts": self.start_time.astimezone(UTC).isoformat(),
            "service": self.service,
            "endpoint": self.endpoint,
            "method": self.method,
            "status": self.status_code,
            "duration_ms": round(self.duration_ms, 3),
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "error": error,
        }
        if self.kind != "server":
            data["kind"] = self.kind
        if self.peer:
            data["peer"] = self.peer
        if self.version:
            data["version"] = self.version
        if self.query_count is not None:
            data["query_count"] = self.query_count
            data["query_ms"] = round(self.query_ms or 0.0, 3)
            if self.top_query_count:
                data["top_query"] = self.top_query
                data["top_query_count"] = self.top_query_count
        return data


def parse_timestamp(value: Any, *, field: str = "ts") -> datetime:
    """ISO 8601 (a missing offset means UTC) or epoch seconds as a number."""
    if isinstance(value, bool):
        raise RecordError(f"{field} must be an ISO 8601 string or epoch seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise RecordError(f"{field} must be finite")
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"{field} is out of range") from None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"{field} is not ISO 8601: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    raise RecordError(f"{field} must be an ISO 8601 string or epoch seconds")


def _optional_id(data: dict[str, Any], key: str, valid) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not valid(value.lower()):
        raise RecordError(f"{key} must be lowercase hex of the W3C length")
    return value.lower()


def _text(data: dict[str, Any], key: str, default: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RecordError(f"{key} must be a string")
    value = clean_name(value)
    if not value:
        return default
    return value[:limit]


def _count(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{key} must be an integer >= 0")
    return min(value, 2**31 - 1)


def _queries(data: dict[str, Any]) -> dict[str, Any]:
    """The optional database fields; the statement is normalised again, so a
    line written by hand or by another tool stores no literal values either."""
    count = _count(data, "query_count")
    milliseconds = data.get("query_ms")
    if milliseconds is not None and (
        isinstance(milliseconds, bool)
        or not isinstance(milliseconds, int | float)
        or not math.isfinite(milliseconds)
        or milliseconds < 0
    ):
        raise RecordError("query_ms must be a finite number >= 0")
    statement = data.get("top_query") or ""
    if not isinstance(statement, str):
        raise RecordError("top_query must be a string")
    repeats = _count(data, "top_query_count") or 0
    return {
        "query_count": count,
        "query_ms": None if milliseconds is None else float(milliseconds),
        "top_query": normalise(statement)[:STATEMENT_CHARS] if repeats else "",
        "top_query_count": repeats,
    }


def record_from_json_dict(data: Any) -> SpanRecord:
    """Validate one decoded span-record line; raises RecordError naming the field."""
    if not isinstance(data, dict):
        raise RecordError("a span record must be a JSON object")
    if "ts" not in data:
        raise RecordError("ts is missing")
    start = parse_timestamp(data["ts"])

    duration = data.get("duration_ms")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise RecordError("duration_ms must be a number")
    if not math.isfinite(duration) or duration < 0:
        raise RecordError("duration_ms must be a finite number >= 0")

    status = data.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int):
            if isinstance(status, float) and status.is_integer():
                status = int(status)
            else:
                raise RecordError("status must be an integer")
        if not 0 <= status <= 999:
            raise RecordError("status must be between 0 and 999")

    endpoint = _text(data, "endpoint", "", 200)
    if not endpoint:
        raise RecordError("endpoint is missing")

    error = data.get("error")
    error_type = error_message = ""
    if isinstance(error, dict):
        error_type = str(error.get("type") or "")[:200]
        error_message = str(error.get("message") or "")[:2000]
    elif isinstance(error, str):
        error_type = error[:200]
    elif error not in (None, False):
        raise RecordError("error must be null, a string or an object")
    is_error = (status is not None and status >= 500) or bool(error)

    kind = _text(data, "kind", "server", 8)
    if kind not in {"server", "client", "consumer", "producer", "internal"}:
        raise RecordError("kind must be server, client, consumer, producer or internal")

    return SpanRecord(
        service=_text(data, "service", DEFAULT_SERVICE, 100),
        endpoint=endpoint,
        start_time=start,
        duration_ms=float(duration),
        status_code=status,
        method=_text(data, "method", "", 16).upper(),
        kind=kind,
        trace_id=_optional_id(data, "trace_id", is_valid_trace_id),
        span_id=_optional_id(data, "span_id", is_valid_span_id),
        parent_span_id=_optional_id(data, "parent_span_id", is_valid_span_id),
        is_error=is_error,
        error_type=error_type,
        error_message=error_message,
        peer=_text(data, "peer", "", 200),
        version=_text(data, "version", "", 64),
        **_queries(data),
    )
