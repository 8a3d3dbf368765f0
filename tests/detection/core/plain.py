"""Tiny builders of the detection core's plain data (no database)."""

from __future__ import annotations

import math
from itertools import count

from aiops.detection.config import DetectionConfig
from aiops.detection.core.analyze import CycleInput, CycleResult, analyze
from aiops.detection.core.types import Baseline, CallEdge, EndpointKey, SpanRow

NOW = 1_800_000_000.0
CONFIG = DetectionConfig()
_ids = count(1)


def key(endpoint: str, service: str = "svc") -> EndpointKey:
    return EndpointKey(service, endpoint)


def baseline(endpoint: str, level_ms: float = 100.0, **fields) -> Baseline:
    values = dict(
        log_level=math.log(level_ms),
        log_spread=0.1,
        tail_fraction=0.0,
        error_rate=0.0,
        request_rate=1.0,
        sample_count=1000,
        moment_count=1000,
        learned_at=NOW - 30,
        last_seen=NOW - 1,
    )
    values.update(fields)
    return Baseline(key=key(endpoint), **values)


def span(
    endpoint: str,
    duration_ms: float,
    *,
    start: float = NOW - 10,
    status: int | None = 200,
    trace: str | None = None,
    parent: str | None = None,
    kind: str = "server",
    peer: str = "",
) -> SpanRow:
    span_id = f"{next(_ids):016x}"
    return SpanRow(
        "svc",
        endpoint,
        kind,
        start,
        duration_ms,
        status,
        status is None or status >= 500,
        trace or f"{next(_ids):032x}",
        span_id,
        parent,
        peer,
    )


def run(
    spans: list[SpanRow],
    baselines: list[Baseline],
    *,
    edges: list[CallEdge] = (),
    in_incident=(),
    config: DetectionConfig = CONFIG,
) -> CycleResult:
    return analyze(
        CycleInput(
            now=NOW,
            previous=NOW - 30,
            spans=spans,
            borrowed={},
            baselines={b.key: b for b in baselines},
            in_incident=set(in_incident),
            edges=list(edges),
        ),
        config,
    )
