from __future__ import annotations

from tests.detection.core.plain import baseline, run, span


def test_steady_endpoint_without_spans_while_others_serve_is_silent():
    result = run(
        [span("other", 50)], [baseline("api", request_rate=2.0), baseline("other")]
    )

    [finding] = result.findings
    assert finding.type == "timeout_issue"
    assert finding.key.endpoint == "api"
    assert finding.expected == 120.0  # 2/s over the 60 s window


def test_low_traffic_endpoint_may_be_quiet():
    result = run(
        [span("other", 50)], [baseline("api", request_rate=0.1), baseline("other")]
    )

    assert result.findings == []


def test_everything_quiet_is_no_incident():
    result = run(
        [], [baseline("api", request_rate=2.0), baseline("b", request_rate=5.0)]
    )

    assert result.findings == []


def test_silent_endpoint_does_not_learn_that_silence_is_normal():
    before = baseline("api", request_rate=2.0)

    result = run([span("other", 50)], [before, baseline("other")])

    assert result.baselines[before.key].request_rate == 2.0
