"""The database as a callee: a slow database is one root, "database"."""

from __future__ import annotations

import math
import random

from aiops.detection.core.database import DATABASE, database_calls, database_key
from aiops.detection.core.kinds import AnomalyType, FaultKind
from aiops.detection.core.types import Baseline, CallEdge
from aiops.detection.core.window import TraceIndex
from tests.detection.core.plain import NOW, baseline, key, run, span

ENDPOINTS = {"items": (30.0, 20.0), "cart": (50.0, 10.0)}  # own ms, database ms


def db_baseline(level_ms: float) -> Baseline:
    return Baseline(
        key=database_key("svc"),
        log_level=math.log(level_ms),
        log_spread=0.3,
        request_rate=2.0,
        sample_count=1000,
        moment_count=1000,
        learned_at=NOW - 30,
        last_seen=NOW - 1,
    )


def learned() -> list[Baseline]:
    return [
        baseline(name, own + db, self_time_ms=own)
        for name, (own, db) in ENDPOINTS.items()
    ] + [db_baseline(15.0)]


def traffic(*, own_factor: float = 1.0, db_factor: float = 1.0, slow_own=()):
    rng = random.Random(3)
    spans = []
    for i in range(30):
        for name, (own, db) in ENDPOINTS.items():
            own_ms = own * rng.lognormvariate(0, 0.1)
            if name in slow_own:
                own_ms *= own_factor
            db_ms = db * rng.lognormvariate(0, 0.1) * db_factor
            request = span(name, own_ms + db_ms, start=NOW - 55 + i * 1.7)
            spans.append(request._replace(query_count=5, query_ms=db_ms))
    return spans


def test_each_request_that_ran_queries_calls_the_database():
    spans = traffic()

    children = database_calls(spans)

    assert len(children) == len(spans)
    child, request = children[0], spans[0]
    assert child.key == database_key("svc") == (DATABASE, "svc")
    assert child.parent_span_id == request.span_id
    assert child.duration_ms == request.query_ms
    own = TraceIndex(spans + children).self_time(request)
    assert math.isclose(own, request.duration_ms - request.query_ms)


def test_queries_slower_for_every_endpoint_name_the_database_as_the_root():
    result = run(traffic(db_factor=8.0), learned())

    latency = [g for g in result.groups if g.kind == FaultKind.LATENCY]
    assert len(latency) == 1, [(g.root, [f.key for f in g.findings]) for g in latency]
    (group,) = latency
    assert group.root == database_key("svc")
    assert {f.key for f in group.findings} >= {key("items"), database_key("svc")}


def test_an_endpoint_whose_own_code_slowed_stays_the_root():
    result = run(traffic(own_factor=8.0, slow_own={"cart"}), learned())

    roots = {g.root for g in result.groups}
    assert roots == {key("cart")}
    assert not [f for f in result.findings if f.key == database_key("svc")]


def test_the_database_is_never_silent_and_never_a_missing_call():
    # The endpoints stopped running queries (a cache warmed up): no finding.
    spans = [s._replace(query_count=None, query_ms=None) for s in traffic()]

    edges = [
        CallEdge(caller=key(name), callee=database_key("svc"), call_rate=1.0)
        for name in ENDPOINTS
    ]

    result = run(spans, learned(), edges=edges)

    assert not [
        f for f in result.findings if f.type in (AnomalyType.SILENCE, AnomalyType.CALLS)
    ]
