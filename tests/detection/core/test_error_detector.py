from __future__ import annotations

from tests.detection.core.plain import baseline, run, span


def findings(statuses: list[int], **baseline_fields):
    spans = [span("api", 100, status=s) for s in statuses]
    return run(spans, [baseline("api", 100.0, **baseline_fields)]).findings


def test_error_spike_over_twenty_percent():
    [finding] = findings([500] * 8 + [200] * 12)

    assert finding.type == "error_spike"
    assert finding.observed == 0.4
    assert finding.severity == "high"
    assert finding.detail["statuses"] == {"500": 8}


def test_needs_five_requests():
    assert findings([500, 500, 500, 500]) == []


def test_client_errors_do_not_count():
    assert findings([404] * 10 + [200] * 2) == []


def test_majority_failing_is_critical():
    [finding] = findings([503] * 8 + [200] * 2)

    assert finding.severity == "critical"


def test_a_usually_noisy_endpoint_needs_twice_its_rate():
    assert findings([500] * 3 + [200] * 7, error_rate=0.25) == []
    assert findings([500] * 30 + [200] * 10, error_rate=0.25) != []


def test_new_endpoint_failing_from_the_start_is_found():
    # Not enough learned samples for latency judgement; errors need no history.
    assert findings([500] * 10, sample_count=0)[0].type == "error_spike"
