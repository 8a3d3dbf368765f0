"""The prototype's README scenarios and the traps it fell into, in simulated time."""

from __future__ import annotations

import pytest

from aiops.detection.models import EndpointBaseline, Incident
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db

WARMUP = 600  # ten minutes of healthy traffic before any fault
FAULT_AT = T0 + WARMUP


def warm_up_then(fault: Fault, *, fault_seconds: float = 120, seed: int = 7):
    store(shop_traffic(T0, WARMUP, seed=seed))
    store(shop_traffic(FAULT_AT, fault_seconds, fault=fault, seed=seed + 1))
    run_cycles(T0, FAULT_AT + fault_seconds)


def only_incident() -> Incident:
    incidents = list(Incident.objects.all())
    assert len(incidents) == 1, [i.title for i in incidents]
    return incidents[0]


def anomaly_kinds(incident: Incident) -> set[tuple[str, str]]:
    return {(a.endpoint, a.type) for a in incident.anomalies.all()}


def test_scenario_1_payment_latency_is_blamed_on_payment():
    warm_up_then(Fault(payment_delay_ms=3000))

    incident = only_incident()
    assert (incident.root_service, incident.root_endpoint) == ("shop", "payment")
    assert incident.status == "open"
    assert anomaly_kinds(incident) == {
        ("payment", "latency_anomaly"),
        ("checkout", "latency_anomaly"),
    }
    # Detected by the first cycle after the fault, not minutes later.
    assert incident.first_detected.timestamp() - FAULT_AT <= 30
    assert incident.candidates[0]["endpoint"] == "payment"
    assert incident.confidence >= 0.8
    assert "Latency spike" in incident.root_issue


def test_scenario_2_inventory_errors_are_blamed_on_inventory():
    warm_up_then(Fault(inventory_error_rate=0.8))

    incident = only_incident()
    assert incident.root_endpoint == "inventory"
    assert anomaly_kinds(incident) == {
        ("inventory", "error_spike"),
        ("checkout", "error_spike"),
    }
    assert incident.severity == "critical"
    assert incident.first_detected.timestamp() - FAULT_AT <= 30


def test_scenario_3_cascading_payment_failure_is_blamed_on_payment():
    warm_up_then(Fault(payment_error_rate=1.0))

    incident = only_incident()
    assert incident.root_endpoint == "payment"
    assert ("payment", "error_spike") in anomaly_kinds(incident)
    assert ("checkout", "error_spike") in anomaly_kinds(incident)
    # checkout, still called, no longer reaches inventory: a symptom, here.
    assert ("inventory", "timeout_issue") in anomaly_kinds(incident)
    assert set(incident.correlated_failures) >= {"payment_errors", "checkout_errors"}


def test_caller_timing_out_on_a_slow_callee_is_blamed_on_the_callee():
    # payment hangs for 8 s; checkout gives up after 5 s and returns 502.
    warm_up_then(Fault(payment_delay_ms=8000))

    incident = only_incident()
    assert incident.root_endpoint == "payment"
    assert ("checkout", "error_spike") in anomaly_kinds(incident)
    # inventory, never called while checkout times out, is a symptom in the same
    # incident, not an incident of its own.
    assert incident.candidates[0]["endpoint"] == "payment"


def test_callee_that_stops_answering_is_the_root_cause():
    warm_up_then(Fault(payment_silent=True))

    incident = only_incident()
    assert incident.root_endpoint == "payment"
    assert ("payment", "timeout_issue") in anomaly_kinds(incident)
    assert ("checkout", "error_spike") in anomaly_kinds(incident)


def test_two_unrelated_simultaneous_faults_make_two_incidents():
    warm_up_then(Fault(payment_delay_ms=2000, inventory_error_rate=0.6))

    roots = sorted(Incident.objects.values_list("root_endpoint", flat=True))
    assert roots == ["inventory", "payment"]


def test_noisy_normal_traffic_with_single_outliers_opens_nothing():
    spans = shop_traffic(T0, 1800, rps=1.5, sigma=0.35, seed=11)
    # Now and then one request is ten times slower: a GC pause, a cold cache.
    for n, span in enumerate(spans):
        if span.endpoint == "payment" and n % 97 == 0:
            span.duration_ms *= 10
    store(spans)

    run_cycles(T0, T0 + 1800)

    assert Incident.objects.count() == 0


def test_one_slow_request_in_a_quiet_window_is_not_an_incident():
    store(shop_traffic(T0, WARMUP, rps=0.2, seed=3))
    slow = shop_traffic(FAULT_AT, 5, rps=1, fault=Fault(payment_delay_ms=3000), seed=4)
    store(slow[:3])  # one slow checkout: payment and checkout spans
    store(shop_traffic(FAULT_AT + 5, 300, rps=0.2, seed=5))

    run_cycles(T0, FAULT_AT + 300)

    assert Incident.objects.count() == 0


def test_a_persistent_fault_is_not_learned_away():
    warm_up_then(Fault(payment_delay_ms=500), fault_seconds=1800)

    incident = only_incident()
    assert incident.status == "open"
    assert incident.last_seen.timestamp() == FAULT_AT + 1800
    payment = EndpointBaseline.objects.get(endpoint="payment")
    assert 80 < payment.latency_ms < 130


def test_404_storm_on_unknown_urls_is_not_an_incident():
    from datetime import UTC, datetime

    from aiops.telemetry.records import SpanRecord

    store(shop_traffic(T0, WARMUP, seed=9))
    scan = [
        SpanRecord(
            service="shop",
            endpoint="unmatched",
            method="GET",
            start_time=datetime.fromtimestamp(FAULT_AT + n * 0.05, tz=UTC),
            duration_ms=2.0,
            status_code=404,
        )
        for n in range(2000)
    ]
    store(scan)
    store(shop_traffic(FAULT_AT, 120, seed=10))

    run_cycles(T0, FAULT_AT + 120)

    assert Incident.objects.count() == 0
