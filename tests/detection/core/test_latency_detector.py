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
