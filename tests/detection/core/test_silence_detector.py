from __future__ import annotations

from aiops.detection.core.types import CallEdge
from tests.detection.core.plain import NOW, baseline, key, run, span


def busy(endpoint: str, per_second: float, seconds: float = 60.0):
    """``endpoint`` serving its usual rate over the last ``seconds``."""
    n = int(per_second * seconds)
    return [
        span(endpoint, 50, start=NOW - seconds + (i + 0.5) * seconds / n)
        for i in range(n)
    ]


def test_steady_endpoint_without_spans_while_its_service_serves_is_silent():
    result = run(
        busy("other", 1.0),
        [baseline("api", request_rate=2.0), baseline("other", request_rate=1.0)],
    )

    [finding] = result.findings
    assert finding.type == "timeout_issue"
    assert finding.key.endpoint == "api"
    assert finding.expected == 120.0  # 2/s over the 60 s window
    assert finding.detail["witnesses"] == ["svc/other"]


def test_callee_without_spans_while_its_caller_is_called_is_silent():
    edges = [CallEdge(key("checkout"), key("payment"))]
    result = run(
        busy("checkout", 1.0),
        [
            baseline("checkout", request_rate=1.0),
            baseline("payment", request_rate=1.0),
        ],
        edges=edges,
    )

    [finding] = result.findings
    assert finding.key.endpoint == "payment"
    assert finding.detail["witnesses"] == ["svc/checkout"]


def test_callee_of_a_quiet_caller_may_be_quiet():
    edges = [CallEdge(key("checkout"), key("payment"))]
    result = run(
        busy("other", 1.0),
        [
            baseline("checkout", request_rate=1.0),
            baseline("payment", request_rate=1.0),
            baseline("other", request_rate=1.0),
        ],
        edges=edges,
    )

    # checkout itself went quiet while "other" serves: that is the finding, and
    # payment, only ever called by checkout, is not expected to be busy.
    assert [f.key.endpoint for f in result.findings] == ["checkout"]


def test_low_traffic_endpoint_may_be_quiet():
    result = run(
        busy("other", 1.0),
        [baseline("api", request_rate=0.1), baseline("other", request_rate=1.0)],
    )

    assert result.findings == []


def test_everything_quiet_is_no_incident():
    result = run(
        [], [baseline("api", request_rate=2.0), baseline("b", request_rate=5.0)]
    )

    assert result.findings == []


def test_one_request_after_an_idle_stretch_expects_almost_nothing():
    result = run(
        [span("b", 50)],
        [baseline("api", request_rate=2.0), baseline("b", request_rate=5.0)],
    )

    assert result.findings == []


def test_silent_endpoint_does_not_learn_that_silence_is_normal():
    before = baseline("api", request_rate=2.0)

    result = run(busy("other", 1.0), [before, baseline("other", request_rate=1.0)])

    assert result.baselines[before.key].request_rate == 2.0
