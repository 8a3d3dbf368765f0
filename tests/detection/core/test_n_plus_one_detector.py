from __future__ import annotations

from aiops.detection.core.kinds import AnomalyType, FaultKind
from tests.detection.core.plain import NOW, baseline, key, run, span

LOOKUP = "SELECT ... FROM shop_item WHERE shop_item.id = %s LIMIT %s"


def request(endpoint: str, repeats: int, *, statement: str = LOOKUP, **fields):
    return span(endpoint, 40.0, **fields)._replace(
        query_count=repeats + 1,
        query_ms=10.0,
        top_query=statement if repeats >= 10 else "",
        top_query_count=repeats,
    )


def n_plus_one(result):
    return [f for f in result.findings if f.type == AnomalyType.N_PLUS_ONE]


def test_a_statement_repeated_in_most_requests_is_an_n_plus_one():
    spans = [request("items", 50, start=NOW - 50 + i) for i in range(5)]

    result = run(spans, [baseline("items")])

    (finding,) = n_plus_one(result)
    assert finding.key == key("items")
    assert finding.opens_incident
    assert finding.summary == (
        f'N+1 queries in items: "{LOOKUP}" runs 50 times per request'
    )
    assert finding.detail["statement"] == LOOKUP
    assert finding.detail["repeats_per_request"] == 50
    assert finding.detail["share"] == 1.0
    assert finding.severity == "low"
    # Its own incident, rooted at the view: its code asks too much.
    (group,) = [g for g in result.groups if g.kind == FaultKind.QUERIES]
    assert group.root == key("items")
    assert group.fingerprint == "svc/items#queries"


def test_a_new_endpoint_is_judged_from_its_first_requests():
    spans = [request("items", 30, start=NOW - 20 + i) for i in range(3)]

    assert n_plus_one(run(spans, []))


def test_three_runs_of_a_statement_are_no_n_plus_one():
    spans = [request("items", 3, start=NOW - 50 + i) for i in range(20)]

    assert not n_plus_one(run(spans, [baseline("items")]))


def test_one_big_page_among_many_requests_opens_nothing():
    spans = [request("items", 2, start=NOW - 50 + i) for i in range(10)]
    spans.append(request("items", 80, start=NOW - 5))

    assert not n_plus_one(run(spans, [baseline("items")]))


def test_two_requests_are_too_few_to_open_but_keep_an_incident_open():
    spans = [request("items", 50, start=NOW - 50 + i) for i in range(2)]

    assert not n_plus_one(run(spans, [baseline("items")]))
    (finding,) = n_plus_one(run(spans, [baseline("items")], in_incident=[key("items")]))
    assert not finding.opens_incident


def test_requests_without_captured_queries_are_not_judged():
    spans = [span("items", 40.0, start=NOW - 50 + i) for i in range(10)]

    assert not n_plus_one(run(spans, [baseline("items")]))


def test_a_slow_n_plus_one_endpoint_has_a_latency_incident_of_its_own():
    spans = [request("items", 50, start=NOW - 50 + i) for i in range(10)]
    spans = [s._replace(duration_ms=900.0) for s in spans]

    result = run(spans, [baseline("items", 40.0)])

    kinds = {(g.root, g.kind) for g in result.groups}
    assert (key("items"), FaultKind.QUERIES) in kinds
    assert (key("items"), FaultKind.LATENCY) in kinds
