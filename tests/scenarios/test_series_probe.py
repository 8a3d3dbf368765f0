"""A probe (one request a cycle, an endpoint that behaves as a sampled series) in
the scenario matrix: the series detector's incidents have to be as trustworthy as
the others' (issue 20)."""

from __future__ import annotations

import random

import pytest

from aiops.telemetry.records import SpanRecord
from tests.detection.traffic import T0
from tests.scenarios.timeline import Timeline, incidents, moment

pytestmark = pytest.mark.django_db

# 150 cycles of warm-up before the series detector judges, and some more.
FAULT = T0 + 180 * 30


def probe(start: float, end: float, *, slow: float = 1.0, seed: int = 7):
    """GET /probe once every 30 s, ~20 ms (x ``slow``), as a synthetic monitor."""
    rng = random.Random(seed)
    return [
        SpanRecord(
            service="shop",
            endpoint="probe",
            method="GET",
            start_time=moment(t),
            duration_ms=rng.uniform(18.0, 22.0) * slow,
            status_code=200,
            trace_id=f"{rng.getrandbits(128):032x}",
            span_id=f"{rng.getrandbits(64):016x}",
        )
        for t in range(int(start) + 7, int(end), 30)
    ]


def test_a_probe_that_stays_slow_keeps_one_incident_open_while_it_is_slow():
    tl = Timeline()
    tl.send(probe(T0, FAULT))
    tl.send(probe(FAULT, FAULT + 1800, slow=5.0, seed=8))  # 30 minutes 5 x slower
    tl.send(probe(FAULT + 1800, FAULT + 3600, seed=9))  # then well again
    tl.cycles(T0, FAULT + 1800)

    [incident] = incidents()
    assert incident["status"] == "open"  # not resolved while the probe is slow
    assert incident["root_cause"]["endpoint"] == "probe"
    assert {a["type"] for a in incident["anomalies"]} == {"latency_series"}

    tl.cycles(FAULT + 1800, FAULT + 2400)
    [incident] = incidents()
    assert incident["status"] == "resolved"  # once well, it resolves itself
    assert incident["resolved_by"] in ("", None, "system")


def test_an_operator_resolving_a_slow_probe_mid_fault_is_final():
    tl = Timeline()
    tl.send(probe(T0, FAULT))
    tl.send(probe(FAULT, FAULT + 1800, slow=5.0, seed=8))
    tl.cycles(T0, FAULT + 300)
    [incident] = incidents()
    with tl.operator(FAULT + 310) as client:
        answer = client.post(
            f"/aiops/incidents/{incident['id']}/resolve",
            {"note": "known: the probe's target is being migrated"},
            format="json",
        )
        assert answer.status_code == 200, answer.content
    tl.cycles(FAULT + 300, FAULT + 1800)

    [incident] = incidents()  # the slowness it saw opens nothing new
    assert incident["status"] == "resolved"
    assert incident["resolved_by"] == "operator"


def test_one_slow_request_of_an_endpoint_used_at_random_is_no_incident():
    # An admin page opened every five minutes or so, at random: a cycle that has
    # data holds one request, as a probe's cycles do, but the requests keep no
    # beat. Once it has been watched for a warm-up's worth of them, one request
    # 10 x slower is still one slow request (the latency detector needs three),
    # not a series that left its range.
    rng = random.Random(11)
    t, spans = T0, []
    for n in range(171):
        t += rng.expovariate(1 / 300)
        spans.append(
            SpanRecord(
                service="shop",
                endpoint="GET /admin/reports",
                method="GET",
                start_time=moment(t),
                duration_ms=40 * rng.lognormvariate(0, 0.35) * (10 if n == 170 else 1),
                status_code=200,
                trace_id=f"{rng.getrandbits(128):032x}",
                span_id=f"{rng.getrandbits(64):016x}",
            )
        )
    tl = Timeline()
    tl.send(spans)
    tl.cycles(T0, t + 600)

    assert incidents() == []
