from __future__ import annotations

from aiops.detection.core.kinds import AnomalyType, FaultKind
from tests.detection.core.plain import NOW, baseline, key, run, span


def learned(level: float = 5.0, samples: int = 1000):
    return baseline("items", 40.0, query_level=level, query_samples=samples)


def requests(*counts: int):
    return [
        span("items", 40.0, start=NOW - 25 + i)._replace(
            query_count=count, query_ms=5.0
        )
        for i, count in enumerate(counts)
    ]


def regressions(result):
    return [f for f in result.findings if f.type == AnomalyType.QUERY_COUNT]


def test_ten_times_the_usual_queries_is_a_regression():
    result = run(requests(*[50] * 10), [learned(5.0)])

    (finding,) = regressions(result)
    assert finding.opens_incident
    assert (
        finding.summary == "Query count up in items: 50 queries per request (usually 5)"
    )
    assert (finding.observed, finding.expected) == (50, 5)
    assert finding.severity == "medium"
    (group,) = [g for g in result.groups if g.kind == FaultKind.QUERIES]
    assert group.root == key("items")


def test_a_few_more_queries_are_not_worth_a_page():
    assert not regressions(run(requests(*[6] * 10), [learned(2.0)]))


def test_a_change_in_the_mix_of_light_and_heavy_requests_opens_nothing():
    # Usually 2 queries (most requests) or 30 (a report): now 60 % are reports.
    result = run(requests(*[30] * 6 + [2] * 4), [learned(2.0)])

    assert not [f for f in regressions(result) if f.opens_incident]


def test_an_unlearned_query_count_is_not_judged():
    assert not regressions(run(requests(*[50] * 10), [learned(5.0, samples=10)]))
    assert not regressions(run(requests(*[50] * 10), [baseline("items", 40.0)]))


def test_the_level_is_learned_from_requests_that_succeeded():
    spans = requests(*[7] * 10) + [
        span("items", 40.0, start=NOW - 3, status=500)._replace(query_count=1)
    ]

    result = run(spans, [learned(5.0, samples=0)])

    assert result.baselines[key("items")].query_level == 7
    assert result.baselines[key("items")].query_samples == 10
