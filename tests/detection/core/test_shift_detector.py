from __future__ import annotations

from tests.detection.core.plain import NOW, baseline, run, span


def history(**fields):
    """An endpoint whose cycle medians have been 100 +- 5 ms for a long time."""
    values = dict(cycle_mean=100.0, cycle_var=25.0, cycle_count=500, within_var=0.0)
    values.update(fields)
    return baseline("api", 100.0, **values)


def shift(durations, **fields):
    spans = [span("api", d, start=NOW - 20 + i * 0.1) for i, d in enumerate(durations)]
    return [
        f for f in run(spans, [history(**fields)]).findings if f.type == "latency_shift"
    ]


def test_one_far_off_cycle_is_a_shift():
    [finding] = shift([180] * 10)  # 16 standard deviations, +80 %

    assert finding.detail == {"z": 16.0, "cycles": 1, "direction": "up"}
    assert finding.severity == "medium"
    assert "Latency shift up" in finding.summary


def test_a_moderate_shift_must_last_several_cycles():
    assert shift([155] * 10) == []  # 11 sd: not enough for a single cycle
    [finding] = shift(
        [155] * 10, recent_medians=[156, 154, 157, 155], recent_counts=[10] * 4
    )
    assert finding.detail["cycles"] == 3  # three cycles at 5 sd or more
    assert shift([120] * 10, recent_medians=[120] * 4, recent_counts=[10] * 4) == []


def test_drops_are_low_severity():
    [finding] = shift([30] * 10)

    assert finding.detail["direction"] == "down"
    assert finding.severity == "low"


def test_small_relative_changes_are_ignored_however_significant():
    assert shift([140] * 10, cycle_var=1.0) == []  # 40 sd but only +40 %


def test_a_median_of_few_requests_needs_more():
    # Five requests at 290 ms are within what single requests of this endpoint
    # do (one is never judged: test_one_request_of_an_endpoint_never_busy_...).
    assert shift([290] * 5, within_var=40_000.0) == []
    assert shift([290] * 5, within_var=0.0) != []


def test_medians_of_a_handful_of_requests_are_left_to_the_latency_detector():
    # Nineteen requests in the cycle, all 3 x slower, on an endpoint that is
    # busy at other times: a median of fewer than twenty is too skewed for a
    # test in standard deviations.
    assert shift([300] * 19, within_var=100.0, busy_cycles=100) == []
    assert shift([300] * 20, within_var=100.0, busy_cycles=100) != []
    # An endpoint that never had busy cycles is a series of small cycles,
    # learned and judged as such: on a window's worth of requests.
    quiet = dict(within_var=100.0, busy_cycles=0)
    assert shift([300], recent_medians=[300] * 4, recent_counts=[1] * 4, **quiet)
    assert shift([300] * 5, **quiet) != []


def test_one_request_of_an_endpoint_never_busy_is_no_shift():
    # A new install's first night: cycles of one request, a variance learned
    # from a few dozen calm ones; one request from the long tail (8 x, as a
    # pause or a cold cache makes one request in a hundred) is 20 standard
    # deviations off it, and still one slow request.
    calm = dict(cycle_mean=6.2, cycle_var=1.7**2, cycle_count=54, within_var=1.2**2)
    assert shift([51.0], busy_cycles=0, **calm) == []
    assert shift([51.0, 50.0], busy_cycles=0, **calm) == []
    # The same request after four calm ones: the median of five says nothing.
    calm.update(recent_medians=[6.0, 6.5, 5.8, 6.1], recent_counts=[1] * 4)
    assert shift([51.0], busy_cycles=0, **calm) == []
    # Three of five that slow are a shift (the latency detector may not know
    # the tail well enough yet to call them).
    calm.update(recent_medians=[6.0, 6.5, 50.0, 52.0], recent_counts=[1] * 4)
    [finding] = shift([51.0], busy_cycles=0, **calm)
    assert finding.detail["cycles"] == 5
