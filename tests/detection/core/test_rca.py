"""Root-cause analysis on hand-built traces."""

from __future__ import annotations

from aiops.detection.core.types import CallEdge
from tests.detection.core.plain import NOW, baseline, key, run, span


def trace(*, gateway_ms, api_ms, db_ms, db_status=200, client_db=False):
    """gateway -> api -> db, one trace, durations nested."""
    t = f"{abs(hash((gateway_ms, api_ms, db_ms, db_status))):032x}"[:32]
    start = NOW - 20
    gateway = span("gateway", gateway_ms, start=start, trace=t)
    api = span("api", api_ms, start=start + 0.001, trace=t, parent=gateway.span_id)
    spans = [gateway, api]
    parent = api.span_id
    if client_db:
        client = span(
            "SELECT",
            db_ms + 1,
            start=start + 0.002,
            trace=t,
            parent=parent,
            kind="client",
            status=db_status,
            peer="db:5432",
        )
        spans.append(client)
        parent = client.span_id
    if db_status is not None:
        spans.append(
            span(
                "db",
                db_ms,
                start=start + 0.002,
                trace=t,
                parent=parent,
                status=db_status,
            )
        )
    return spans


BASELINES = [
    baseline("gateway", 60, self_time_ms=5),
    baseline("api", 50, self_time_ms=10),
    baseline("db", 40),
]


def test_slow_leaf_is_the_root_not_its_callers():
    spans = [
        s
        for n in range(10)
        for s in trace(gateway_ms=1060, api_ms=1050, db_ms=1040 + n)
    ]

    [group] = run(spans, BASELINES).groups

    assert group.root == key("db")
    assert {f.key.endpoint for f in group.findings} == {"gateway", "api", "db"}
    assert group.candidates[0].score == 1.0


def test_a_caller_slow_in_its_own_code_is_the_root():
    # api's self time went from 10 ms to 1 s; db is as fast as ever.
    spans = [
        s for n in range(10) for s in trace(gateway_ms=1060, api_ms=1050, db_ms=40 + n)
    ]

    [group] = run(spans, BASELINES).groups

    assert group.root == key("api")


def test_deepest_failure_is_the_root():
    spans = [
        s
        for n in range(10)
        for s in trace(gateway_ms=60 + n, api_ms=50, db_ms=40, db_status=500)
    ]

    [group] = run(spans, BASELINES).groups

    assert group.root == key("db")
    assert {f.type for f in group.findings} == {"error_spike"}


def test_call_that_never_got_an_answer_is_blamed_on_the_learned_callee():
    spans = [
        s
        for n in range(30)
        for s in trace(
            gateway_ms=60 + n, api_ms=50, db_ms=40, db_status=None, client_db=True
        )
    ]
    # db recorded nothing; the api's CLIENT span failed. Earlier traces taught
    # that this client span reaches svc/db.
    edges = [CallEdge(key("api"), key("db"), client_endpoint="SELECT", peer="db:5432")]
    # 30 calls a minute, as usual: db should have answered them.
    usual = [baseline(b.key.endpoint, 40, request_rate=0.5) for b in BASELINES]

    [group] = run(spans, usual, edges=edges).groups

    assert group.root == key("db")


def test_unrelated_faults_stay_apart():
    slow = [
        s
        for n in range(10)
        for s in trace(gateway_ms=1060, api_ms=1050, db_ms=1040 + n)
    ]
    other = [span("reports", 100, status=500) for _ in range(10)]

    groups = run(slow + other, BASELINES + [baseline("reports", 100)]).groups

    assert sorted(g.root.endpoint for g in groups) == ["db", "reports"]


def test_without_traces_each_finding_stands_alone():
    spans = [span("db", 1000, trace=None) for _ in range(10)]
    spans = [s._replace(trace_id=None, span_id=None) for s in spans]

    quiet = [baseline(b.key.endpoint, request_rate=0.0) for b in BASELINES]

    [group] = run(spans, quiet).groups

    assert group.root == key("db")
    assert group.evidence["method"] == "self"
