"""W3C Trace Context (https://www.w3.org/TR/trace-context/) for incoming requests.

Also accepts the prototype's ``X-Trace-ID`` header so its clients keep correlating.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from typing import NamedTuple

_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def is_valid_trace_id(value: str) -> bool:
    return len(value) == 32 and value != _ZERO_TRACE and _HEX.issuperset(value)


def is_valid_span_id(value: str) -> bool:
    return len(value) == 16 and value != _ZERO_SPAN and _HEX.issuperset(value)


# Ids must be unique, not secret: the Mersenne Twister (as OpenTelemetry's SDK
# uses) costs a tenth of os.urandom's system call per id, on every request. The
# random module reseeds itself in a forked child, so gunicorn workers differ.
_bits = random.getrandbits


def new_trace_ids() -> tuple[str, str]:
    """A new trace id and the id of its first span, from one random draw.

    The trace id is the current time in whole seconds (8 hex digits), then 96 random
    bits. The time prefix (AWS X-Ray's trace ids have one too) keeps the spans written
    together next to each other in the (trace_id, span_id) unique index, so an insert
    touches the index's newest pages instead of a random page of all of it: on
    SQLite that cut the cost of storing a span from about 26 to 10 microseconds
    (bench/perf/span_insert.py). The low 64 bits, which samplers read, stay random, and
    96 random bits per second leave collisions out of reach. The span id is the
    draw's other 64 bits: every request starts a trace. One draw, and hex digits by
    ``bytes.hex`` (format specs such as ``:040x`` cost three times as much).
    """
    ids = ((int(time.time()) & 0xFFFF_FFFF) << 160 | _bits(160)).to_bytes(24).hex()
    span_id = ids[32:]
    return ids[:32], span_id if span_id != _ZERO_SPAN else new_span_id()


def new_span_id() -> str:
    return (_bits(64) or 1).to_bytes(8).hex()


class TraceContext(NamedTuple):
    """The server span of one request: its ids and where it came from.

    A named tuple, made on every request: a frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__`` and cost several times as much.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    flags: str = "01"

    def traceparent(self) -> str:
        """The header a child call sends: this span becomes the child's parent."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse_traceparent(header: str) -> tuple[str, str, str] | None:
    """(trace_id, parent_id, flags) of a valid header, else None.

    Follows the spec's rules: version ``ff`` is invalid, version ``00`` has exactly
    four fields, later versions may append fields, ids must be lowercase hex and not
    all zeros.
    """
    value = header.strip()
    if len(value) < 55:
        return None
    version, trace_id, parent_id, flags = (
        value[:2],
        value[3:35],
        value[36:52],
        value[53:55],
    )
    if value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    if not _HEX.issuperset(version) or version == "ff":
        return None
    if version == "00" and len(value) != 55:
        return None
    if version != "00" and len(value) > 55 and value[55] != "-":
        return None
    if not (is_valid_trace_id(trace_id) and is_valid_span_id(parent_id)):
        return None
    if not _HEX.issuperset(flags):
        return None
    return trace_id, parent_id, flags


def trace_id_from_legacy_header(value: str) -> str | None:
    """Map the prototype's free-form ``X-Trace-ID`` onto a W3C trace id.

    32 hex digits or a UUID are used as they are; anything else is hashed, so that
    every request sent with the same value still lands in one trace.
    """
    text = value.strip()
    if not text or len(text) > 256:
        return None
    if _UUID_RE.match(text):
        candidate = text.replace("-", "").lower()
        return candidate if candidate != _ZERO_TRACE else None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def context_from_headers(
    traceparent: str | None, legacy_trace_id: str | None
) -> TraceContext:
    """The server span's context: continue a valid incoming trace, else start one."""
    if traceparent:
        parsed = parse_traceparent(traceparent)
        if parsed is not None:
            trace_id, parent_id, flags = parsed
            return TraceContext(trace_id, new_span_id(), parent_id, flags)
    if legacy_trace_id:
        trace_id = trace_id_from_legacy_header(legacy_trace_id)
        if trace_id is not None:
            return TraceContext(trace_id, new_span_id(), None)
    trace_id, span_id = new_trace_ids()
    return TraceContext(trace_id, span_id, None)
