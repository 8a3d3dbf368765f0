"""The traffic detector (``detectors.traffic``) on plain data: a cycle against
the band of its quarter hour."""

from __future__ import annotations

import pytest

from aiops.detection.core.detectors import traffic
from aiops.detection.core.detectors.base import DetectContext
from aiops.detection.core.seasonal import Season, TrafficBand, day_and_slot
from aiops.detection.core.stats import poisson_at_least, poisson_at_most
from aiops.detection.core.window import EndpointWindow
from tests.detection.core.plain import CONFIG, NOW, baseline, key, span

BAND = TrafficBand(low=0.018, high=0.022, basis="hour of week", days=2)


def context(requests: int, *, watched=(0, 0.0), rate_band=BAND) -> DetectContext:
    """A cycle of 30 s with ``requests`` new requests; the quarter hour so far
    had ``watched`` (requests, seconds) before it."""
    now = NOW + 600  # ten minutes into a quarter hour
    slot = day_and_slot(now)
    season = Season(traffic={slot: rate_band}, watched={slot: watched})
    spans = [span("entry", 50.0, start=now - 1 - i * 0.1) for i in range(requests)]
    return DetectContext(
        now=now,
        config=CONFIG,
        window=EndpointWindow(key("entry"), now - 60, now, spans, []),
        baseline=baseline("entry", season=season),
        in_incident=False,
        bucket_start=now - 30,
    )


def test_a_quiet_cycle_without_a_request_is_not_even_suspicious():
    # About one request a minute is usual: a cycle without one is common, and
    # must not pause learning the request rate (found by the seasonal
    # benchmark: the rate froze overnight and "Calls missing" fired at midnight).
    verdict = traffic.detect(context(0, watched=(10, 570.0)))
    assert verdict.finding is None and not verdict.suspicious


def test_a_surge_on_a_busy_endpoint_is_found_within_a_cycle():
    busy = TrafficBand(low=1.8, high=2.2, basis="hour of week", days=2)
    verdict = traffic.detect(context(300, watched=(1100, 570.0), rate_band=busy))
    assert verdict.finding is not None and verdict.finding.opens_incident
    assert verdict.finding.type == "traffic_surge"


def test_a_quarter_hour_without_requests_where_many_are_usual_is_a_drop():
    busy = TrafficBand(low=1.8, high=2.2, basis="hour of week", days=2)
    verdict = traffic.detect(context(0, watched=(0, 570.0), rate_band=busy))
    assert verdict.finding is not None and verdict.finding.type == "traffic_drop"
    assert verdict.finding.severity == "high"


def test_poisson_tails_far_beyond_what_a_float_holds_are_zero():
    # A surge of thousands over a bar of a few: the tail underflows; it is 0.0,
    # found without walking the terms (this took 30 ms a call before).
    assert poisson_at_least(5000, 3.0) == 0.0
    assert poisson_at_most(0, 5000.0) == 0.0
    assert poisson_at_least(4, 1.0) == pytest.approx(0.018988, abs=1e-6)
    assert poisson_at_most(2, 10.0) == pytest.approx(0.0027694, abs=1e-6)


def test_a_sampler_that_reports_in_bursts_is_no_traffic_to_judge():
    # A series sampled every five minutes (NAB's road sensors: three values a
    # quarter hour, at times a burst of twenty): its count is a rhythm, not a
    # load. Found by the real NAB replay (206 false alarms on one file).
    sampled = TrafficBand(low=3 / 900, high=3 / 900, basis="hour of week", days=2)
    verdict = traffic.detect(context(20, watched=(25, 570.0), rate_band=sampled))
    assert verdict.finding is None and not verdict.suspicious
