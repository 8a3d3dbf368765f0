from __future__ import annotations

import pytest

from tests.detection.core.plain import baseline, run, span


def findings(durations: list[float], **baseline_fields):
    spans = [
        span("api", d, start=1_800_000_000.0 - 50 + i) for i, d in enumerate(durations)
    ]
    return run(spans, [baseline("api", 100.0, **baseline_fields)]).findings


def test_many_slow_requests_are_an_anomaly():
    [finding] = findings([400] * 10 + [100] * 10)

    assert finding.type == "latency_anomaly"
    assert 390 < finding.observed < 410
    assert finding.expected == pytest.approx(100.0)
    assert finding.opens_incident
    assert finding.detail["slow_requests"] == 10
    assert finding.severity == "medium"


def test_one_slow_request_is_not():
    assert findings([3000] + [100] * 10) == []
    assert findings([3000]) == []


def test_slower_but_under_the_ratio_is_not():
    assert findings([250] * 20) == []


def test_an_endpoint_that_is_often_slow_needs_more_to_be_anomalous():
    # 6 of 20 slow is unremarkable for an endpoint where 15% of requests are slow.
    assert findings([500] * 6 + [100] * 14, tail_fraction=0.15) == []
    assert findings([500] * 6 + [100] * 14, tail_fraction=0.0) != []


def test_not_judged_before_enough_samples_were_learned():
    assert findings([400] * 20, sample_count=5) == []


def test_ten_times_slower_is_high_severity():
    [finding] = findings([1000] * 10)

    assert finding.severity == "high"


def _second_by_second(slow_at) -> list:
    """Ten requests a second over the last 56 s; those ``slow_at(second, i)`` take
    400 ms against a 100 ms baseline."""
    start = 1_800_000_000.0 - 57
    return [
        span("api", 400 if slow_at(second, i) else 100, start=start + second + i / 10)
        for second in range(56)
        for i in range(10)
    ]


def _judge(spans):
    return run(spans, [baseline("api", 100.0, tail_fraction=0.05)]).findings


def test_bursts_that_slow_whole_seconds_are_not_an_anomaly():
    # Every 7th second all requests are slow (a GC pause, a CPU quota period):
    # 80 slow requests of 560, but only 8 moments of slowness.
    assert _judge(_second_by_second(lambda second, i: second % 7 == 3)) == []


def test_as_many_slow_requests_spread_evenly_are():
    [finding] = _judge(_second_by_second(lambda second, i: (second * 10 + i) % 7 == 3))
    assert finding.type == "latency_anomaly"


def test_a_fault_that_just_began_keeps_its_full_weight():
    # Healthy with a burst now and then, then the last 6 seconds all slow.
    [finding] = _judge(
        _second_by_second(lambda second, i: second >= 50 or second in (10, 30))
    )
    assert finding.type == "latency_anomaly"
