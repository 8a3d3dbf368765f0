"""The scenario matrix: incidents people can trust, one row per situation.

Each test drives the app through its public surface (spans through the bulk
writer as they would arrive, cycles through ``run_analysis --at``, operators
through the HTTP API) and asserts the incidents that result: how many, their
root, kind, status and who resolved them. The suite runs on SQLite and, in the
second pass of ``.ci/run``, on PostgreSQL.
"""

from __future__ import annotations

import random

import pytest

from aiops.detection.models import EndpointBaseline
from aiops.telemetry.models import Span
from aiops.telemetry.records import SpanRecord
from tests.detection.traffic import T0, Fault, shop_traffic
from tests.scenarios.timeline import Timeline, health_checks, incidents, moment

pytestmark = pytest.mark.django_db

WARMUP = 600
FAULT = T0 + WARMUP


def roots(found: list[dict]) -> list[tuple[str, str]]:
    return [(i["root_cause"]["endpoint"], i["kind"]) for i in found]


def anomaly_kinds(incident: dict) -> set[tuple[str, str]]:
    return {(a["endpoint"], a["type"]) for a in incident["anomalies"]}


# -- Cold start ---------------------------------------------------------------


def test_cold_start_then_latency_fault_with_cycles_seconds_apart():
    # A fresh database: 120 checkouts over 30 s (a baseline judges once it has
    # seen 20 requests from 20 distinct seconds), two cycles, then payment takes
    # 1.5 s for 30 checkouts while cycles run 3 s apart.
    tl = Timeline()
    tl.shop(T0, 30, rps=4)
    tl.cycle(T0 + 31)
    tl.cycle(T0 + 33)
    fault = T0 + 35
    tl.shop(fault, 10, rps=3, fault=Fault(payment_delay_ms=1500))
    for k in range(1, 5):
        tl.cycle(fault + 3 * k)

    found = incidents()
    assert roots(found) == [("payment", "latency")]
    # Within three cycles of the fault: 30 calm seconds cannot rule out a tail
    # of 10 % (the rule of three); about eight slow requests can.
    assert _epoch(found[0]["first_detected"]) <= fault + 9
    payment = EndpointBaseline.objects.get(endpoint="payment")
    # The fault taught the baseline nothing: healthy latency, a small tail.
    assert 80 < payment.latency_ms < 130
    assert payment.tail_fraction < 0.05


def _bursty_quotes(start: float, seconds: float, *, rps: float, paused: float):
    """GET /quote at a steady rate, each second paused (every request in it 8 x
    slower) with probability ``paused``: the tail of a CPU-throttled service."""
    rng = random.Random(11)
    spans = []
    for second in range(int(seconds)):
        slow = rng.random() < paused
        for k in range(int(rps)):
            spans.append(
                SpanRecord(
                    service="pricing",
                    endpoint="quote",
                    method="GET",
                    start_time=moment(start + second + k / rps),
                    duration_ms=rng.uniform(18, 22) * (8 if slow else 1),
                    status_code=200,
                    trace_id=f"{rng.getrandbits(128):032x}",
                    span_id=f"{rng.getrandbits(64):016x}",
                )
            )
    return spans


def test_a_burst_of_calm_requests_is_not_enough_to_judge_by():
    # A fresh install's first cycle sees 60 calm requests from three seconds;
    # the minutes after show the endpoint's usual tail: 40 % of its seconds are
    # 8 x slower (Nezha's currency service in the Online Boutique warm-ups).
    # Three calm seconds say nothing about how often a second is slow: no
    # incident, and the tail is learned.
    tl = Timeline()
    tl.send(_bursty_quotes(T0 + 27, 3, rps=20, paused=0.0))
    tl.send(_bursty_quotes(T0 + 30, 300, rps=4, paused=0.4))
    tl.cycles(T0, T0 + 330)

    assert incidents() == []
    quote = EndpointBaseline.objects.get(endpoint="quote")
    assert quote.tail_fraction > 0.2


def _cron_bursts(start: float, bursts: int, *, slow: float = 1.0):
    """GET /report called by a cron job: 20 requests within 2 s every minute."""
    rng = random.Random(int(start))
    return [
        SpanRecord(
            service="reports",
            endpoint="report",
            method="GET",
            start_time=moment(start + 60 * b + k / 10),
            duration_ms=rng.uniform(40, 60) * slow,
            status_code=200,
            trace_id=f"{rng.getrandbits(128):032x}",
            span_id=f"{rng.getrandbits(64):016x}",
        )
        for b in range(bursts)
        for k in range(20)
    ]


def test_an_endpoint_called_in_bursts_is_judged_once_it_has_seen_enough_seconds():
    # A fresh install whose only traffic comes from a cron job: each burst
    # brings 20 requests but two seconds. After one burst nothing is judged (the
    # baseline knows two seconds); after twelve bursts it is, and a slowdown in
    # the next burst opens its incident at the cycle that sees it.
    tl = Timeline()
    tl.send(_cron_bursts(T0, 12))
    tl.cycles(T0, T0 + 30)
    first = EndpointBaseline.objects.get(endpoint="report")
    assert first.sample_count == 20 and first.moment_count < 20
    tl.cycles(T0 + 30, T0 + 720)
    report = EndpointBaseline.objects.get(endpoint="report")
    assert report.sample_count == 240 and report.moment_count >= 20
    tl.send(_cron_bursts(T0 + 720, 2, slow=10.0))
    tl.cycles(T0 + 720, T0 + 840)

    found = incidents()
    assert roots(found) == [("report", "latency")]
    assert _epoch(found[0]["first_detected"]) <= T0 + 750


def test_cold_start_then_latency_fault_with_cycles_30_seconds_apart():
    tl = Timeline()
    tl.shop(T0, 60, rps=2)
    tl.cycles(T0, T0 + 60)
    tl.shop(T0 + 60, 30, rps=1, fault=Fault(payment_delay_ms=1500))
    tl.cycles(T0 + 60, T0 + 120)

    found = incidents()
    assert roots(found) == [("payment", "latency")]
    assert _epoch(found[0]["first_detected"]) == T0 + 90


# -- Operators win ------------------------------------------------------------


def test_manual_resolve_is_final_for_the_evidence_it_saw():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 60, fault=Fault(inventory_error_rate=0.8))
    tl.shop(FAULT + 60, 600)
    tl.cycles(T0, FAULT + 60)
    (incident,) = incidents()
    # Fault cleared at FAULT + 60; resolved 13 s later while its errors are
    # still inside the judged window.
    with tl.operator(at=FAULT + 73) as api:
        response = api.post(f"/aiops/incidents/{incident['id']}/resolve")
        assert response.status_code == 200
    tl.cycles(FAULT + 73, FAULT + 600)

    (after,) = incidents()
    assert after["status"] == "resolved"
    assert after["resolved_by"] == "operator"
    assert after["reopen_count"] == 0


def test_a_fault_still_on_after_a_manual_resolve_reopens_the_incident():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 300, fault=Fault(inventory_error_rate=0.8))
    tl.cycles(T0, FAULT + 60)
    (incident,) = incidents()
    with tl.operator(at=FAULT + 73) as api:
        api.post(f"/aiops/incidents/{incident['id']}/resolve")
    tl.cycles(FAULT + 73, FAULT + 300)

    (after,) = incidents()
    assert after["status"] == "open"
    assert after["reopen_count"] == 1
    events = [(e["event"], e["by"]) for e in after["timeline"]]
    assert ("resolved", "operator") in events
    assert events[-1] == ("reopened", "system")


def test_auto_resolve_waits_the_same_time_whatever_the_cycle_spacing():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 60, fault=Fault(payment_delay_ms=1500))
    tl.shop(FAULT + 60, 600)
    tl.cycles(T0, FAULT + 60)
    # An operator (or a script) triggers cycles five seconds apart.
    tl.cycles(FAULT + 60, FAULT + 180, every=5)
    (incident,) = incidents()
    assert incident["status"] == "open"

    tl.cycles(FAULT + 180, FAULT + 400, every=5)
    (incident,) = incidents()
    assert incident["status"] == "resolved"
    assert incident["resolved_by"] == "system"


def test_acknowledged_incident_keeps_updating_and_a_new_fault_opens_its_own():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 200, fault=Fault(payment_delay_ms=2000))
    tl.shop(
        FAULT + 200, 100, fault=Fault(payment_delay_ms=2000, inventory_error_rate=0.8)
    )
    tl.cycles(T0, FAULT + 60)
    (incident,) = incidents()
    with tl.operator(at=FAULT + 70) as api:
        api.post(
            f"/aiops/incidents/{incident['id']}/acknowledge",
            {"note": "looking"},
            format="json",
        )
    tl.cycles(FAULT + 70, FAULT + 300)

    latency, errors = incidents()
    assert (latency["root_cause"]["endpoint"], latency["kind"]) == (
        "payment",
        "latency",
    )
    assert latency["status"] == "acknowledged"
    assert latency["acknowledged_by"] == "operator"
    assert _epoch(latency["last_seen"]) == FAULT + 300
    assert (errors["root_cause"]["endpoint"], errors["kind"]) == ("inventory", "errors")
    assert errors["status"] == "open"


# -- One fault is one incident ------------------------------------------------


def test_latency_then_errors_on_the_same_endpoint_are_two_incidents():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 120, fault=Fault(payment_delay_ms=3000))
    tl.shop(FAULT + 120, 80)
    # Errors start while the latency incident is still active (not yet resolved).
    tl.shop(FAULT + 200, 120, fault=Fault(payment_error_rate=1.0))
    tl.shop(FAULT + 320, 300)
    tl.cycles(T0, FAULT + 620)

    latency, errors = incidents()
    assert roots([latency, errors]) == [("payment", "latency"), ("payment", "errors")]
    assert latency["title"].startswith("Latency spike on payment")
    assert errors["title"].startswith("Error spike on payment")
    assert _epoch(errors["first_detected"]) >= FAULT + 210
    assert {t for _, t in anomaly_kinds(errors)} <= {"error_spike", "timeout_issue"}


def test_errors_on_two_callees_of_one_caller_overlapping_are_two_incidents():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 100, fault=Fault(inventory_error_rate=0.6))
    tl.shop(
        FAULT + 100, 100, fault=Fault(inventory_error_rate=0.6, payment_error_rate=0.5)
    )
    tl.shop(FAULT + 200, 100, fault=Fault(inventory_error_rate=0.6))
    tl.shop(FAULT + 300, 300)
    tl.cycles(T0, FAULT + 600)

    found = incidents()
    assert sorted(roots(found)) == [("inventory", "errors"), ("payment", "errors")]
    payment = next(i for i in found if i["root_cause"]["endpoint"] == "payment")
    assert FAULT + 100 < _epoch(payment["first_detected"]) <= FAULT + 160
    inventory = next(i for i in found if i["root_cause"]["endpoint"] == "inventory")
    assert "payment" not in inventory["affected_endpoints"]


def test_title_keeps_the_worst_observation():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 60, fault=Fault(inventory_error_rate=0.9))
    tl.shop(FAULT + 60, 300)
    tl.cycles(T0, FAULT + 120)

    (incident,) = incidents()
    rate = int(incident["title"].split(": ")[1].split("%")[0])
    assert rate >= 70, incident["title"]


# -- Silence means something failed -------------------------------------------


def test_traffic_stopping_everywhere_then_one_request_opens_nothing():
    tl = Timeline()
    tl.shop(T0, WARMUP, rps=2)
    tl.health(T0, WARMUP, rps=0.5)
    tl.cycles(T0, FAULT + 240)  # four quiet minutes
    tl.send(health_checks(FAULT + 245, 1.5, rps=1, seed=3)[:1])  # one GET /health
    tl.cycles(FAULT + 240, FAULT + 330)
    tl.shop(FAULT + 400, 1.5, rps=1)  # later, one checkout
    tl.cycles(FAULT + 330, FAULT + 480)

    assert incidents() == []


def test_a_callee_that_goes_quiet_while_its_caller_is_called_is_the_root():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 180, fault=Fault(payment_silent=True))
    tl.cycles(T0, FAULT + 180)

    (incident,) = incidents()
    assert (incident["root_cause"]["endpoint"], incident["kind"]) == (
        "payment",
        "latency",
    )
    assert ("payment", "timeout_issue") in anomaly_kinds(incident)


# -- Late spans count ---------------------------------------------------------


def test_a_callee_hanging_longer_than_the_window_is_judged():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    # payment hangs 75 s; checkout gives up after 5 s and answers 502. Each
    # payment span is stored when it ends, after its start left the window.
    tl.shop(FAULT, 120, fault=Fault(payment_delay_ms=75_000))
    tl.shop(FAULT + 120, 300)
    tl.cycles(T0, FAULT + 420)

    (incident,) = incidents()
    assert incident["root_cause"]["endpoint"] == "payment"
    kinds = anomaly_kinds(incident)
    assert ("payment", "latency_anomaly") in kinds
    assert ("checkout", "error_spike") in kinds


def test_spans_delivered_90_seconds_late_are_judged_and_learned_once():
    tl = Timeline()
    tl.shop(T0, WARMUP, delay=90)
    tl.shop(FAULT, 120, fault=Fault(inventory_error_rate=0.8), delay=90)
    tl.cycles(T0, FAULT + 300)

    (incident,) = incidents()
    assert incident["root_cause"]["endpoint"] == "inventory"
    assert _epoch(incident["first_detected"]) <= FAULT + 90 + 60
    # Every payment span (all healthy) was learned exactly once.
    payment = EndpointBaseline.objects.get(endpoint="payment")
    stored = Span.objects.filter(endpoint="payment", kind="server").count()
    assert payment.sample_count == stored


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


# -- Restarts, bursts of cycles, faults from the first request ----------------


def test_analysis_stopped_mid_fault_resumes_the_same_incident():
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.shop(FAULT, 600, fault=Fault(payment_delay_ms=1500))
    tl.cycles(T0, FAULT + 60)
    # The cluster is down for five minutes (a restart, a crash); the fault goes on.
    tl.cycles(FAULT + 360, FAULT + 600)

    (incident,) = incidents()
    assert (incident["root_cause"]["endpoint"], incident["kind"]) == (
        "payment",
        "latency",
    )
    assert incident["status"] == "open"
    assert _epoch(incident["first_detected"]) <= FAULT + 30


def test_healthy_noisy_traffic_with_cycles_seconds_apart_opens_nothing():
    tl = Timeline()
    tl.send(shop_traffic(T0, 900, rps=3, sigma=0.35, seed=21))
    tl.cycles(T0, T0 + 120)
    tl.cycles(T0 + 120, T0 + 900, every=3)

    assert incidents() == []
    payment = EndpointBaseline.objects.get(endpoint="payment")
    assert 80 < payment.latency_ms < 130


def test_an_endpoint_failing_from_its_first_request_is_found():
    tl = Timeline()
    tl.shop(T0, 120, fault=Fault(inventory_error_rate=0.8))
    tl.cycles(T0, T0 + 120)

    (incident,) = incidents()
    assert (incident["root_cause"]["endpoint"], incident["kind"]) == (
        "inventory",
        "errors",
    )


def test_an_endpoint_still_silent_after_a_resolve_reopens_within_a_cycle_or_two():
    # Checkouts stop arriving while the rest of the shop (health checks) stays
    # busy. The operator resolves at FAULT + 140: the silence they saw opens
    # nothing again, the silence after it does as soon as it fills a stretch
    # judged (the window's recent half: the cycle at FAULT + 180), not once it
    # fills the whole window.
    tl = Timeline()
    tl.shop(T0, WARMUP)
    tl.send(health_checks(T0, WARMUP + 900, rps=2, seed=3))
    tl.cycles(T0, FAULT + 120)
    (incident,) = incidents()
    assert ("checkout", "timeout_issue") in anomaly_kinds(incident)
    with tl.operator(at=FAULT + 140) as api:
        api.post(f"/aiops/incidents/{incident['id']}/resolve")
    tl.cycles(FAULT + 120, FAULT + 420)

    (after,) = incidents()
    assert (after["status"], after["reopen_count"]) == ("open", 1)
    reopened = [e["at"] for e in after["timeline"] if e["event"] == "reopened"]
    assert _epoch(reopened[0]) == FAULT + 180
