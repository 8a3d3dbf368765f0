"""Incident lifecycle across cycles, in simulated time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connections, transaction

from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.models import AnalysisRun, Incident
from tests.detection.traffic import HEALTHY, T0, Fault, run_cycles, shop_traffic, store

SLOW = Fault(payment_delay_ms=1500)


def traffic(start: float, seconds: float, fault: Fault = HEALTHY, seed: int = 1):
    store(shop_traffic(start, seconds, fault=fault, seed=seed))


@pytest.mark.django_db
def test_incident_resolves_itself_after_quiet_cycles_and_a_recurrence_reopens_it():
    traffic(T0, 600)
    traffic(T0 + 600, 120, SLOW, seed=2)
    traffic(T0 + 720, 600, seed=3)  # healthy again
    traffic(T0 + 1320, 120, SLOW, seed=4)  # the same fault, 10 minutes later
    run_cycles(T0, T0 + 1440)

    incident = Incident.objects.get()
    assert incident.status == "open"
    assert incident.reopen_count == 1
    assert incident.first_detected.timestamp() <= T0 + 630
    assert incident.last_seen.timestamp() == T0 + 1440


@pytest.mark.django_db
def test_auto_resolution_needs_two_healthy_minutes():
    traffic(T0, 600)
    traffic(T0 + 600, 120, SLOW, seed=2)
    traffic(T0 + 720, 600, seed=3)
    run_cycles(T0, T0 + 1320)

    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.resolved_by == "system"
    assert incident.resolution_note == "Healthy for 120s (no anomalies)."
    # The slow requests leave the judged window about a minute after the fault
    # ends, then two healthy minutes resolve it.
    resolved_after = incident.resolved_at.timestamp() - (T0 + 720)
    assert 120 <= resolved_after <= 240


@pytest.mark.django_db
def test_a_recurrence_long_after_resolution_is_a_new_incident():
    traffic(T0, 600)
    traffic(T0 + 600, 120, SLOW, seed=2)
    traffic(T0 + 720, 1800, seed=3)  # 30 healthy minutes: past the reopen window
    traffic(T0 + 2520, 120, SLOW, seed=4)
    run_cycles(T0, T0 + 2640)

    incidents = list(Incident.objects.order_by("first_detected"))
    assert [i.status for i in incidents] == ["resolved", "open"]
    assert incidents[0].public_id != incidents[1].public_id
    assert all(i.root_endpoint == "payment" for i in incidents)


@pytest.mark.django_db
def test_acknowledged_incident_stays_visible_and_keeps_updating():
    traffic(T0, 600)
    traffic(T0 + 600, 300, SLOW, seed=2)
    run_cycles(T0, T0 + 660)
    incident = Incident.objects.get()
    incident.acknowledge(by="alice", note="looking", at=datetime.now(tz=UTC))

    run_cycles(T0 + 660, T0 + 900)

    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_by == "alice"
    assert incident.last_seen.timestamp() == T0 + 900
    assert Incident.objects.active().count() == 1


@pytest.mark.django_db
def test_database_allows_one_active_incident_per_fingerprint():
    traffic(T0, 600)
    traffic(T0 + 600, 120, SLOW, seed=2)
    run_cycles(T0, T0 + 660)
    incident = Incident.objects.get()

    duplicate = Incident(
        public_id="INC-1-1",
        fingerprint=incident.fingerprint,
        title="x",
        severity="high",
        root_service="shop",
        root_endpoint="payment",
        root_issue="x",
        first_detected=incident.first_detected,
        last_seen=incident.last_seen,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.django_db(transaction=True)
def test_concurrent_cycles_run_once_and_create_no_duplicates():
    traffic(T0, 600)
    traffic(T0 + 600, 120, SLOW, seed=2)
    run_cycles(T0, T0 + 600)
    now = datetime.fromtimestamp(T0 + 630, tz=UTC)
    barrier = threading.Barrier(4)
    reports = []

    def cycle():
        barrier.wait()
        try:
            reports.append(run_analysis_cycle(now=now, trigger="test"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=cycle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ran = [r for r in reports if not r.skipped]
    assert len(reports) == 4
    assert len(ran) == 1
    assert Incident.objects.count() == 1
    assert AnalysisRun.objects.filter(cycle_at=now, skipped="").count() == 1
