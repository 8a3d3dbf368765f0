"""Faults: a locked or missing telemetry database, a worker killed mid-cycle, a
cycle that outlives its lease, clock jumps."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.models import AnalysisLease, Anomaly, Incident
from aiops.telemetry.models import Span
from aiops.telemetry.writer import get_writer
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
FAULT_AT = T0 + 600


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


@pytest.mark.django_db(transaction=True)
def test_requests_are_served_while_the_telemetry_database_is_locked(client, settings):
    settings.AIOPS_TELEMETRY_SYNC = False  # the real, batching writer
    writer = get_writer()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE telemetry_span IN SHARE ROW EXCLUSIVE MODE")
        started = time.monotonic()
        responses = [client.get("/health") for _ in range(20)]
        took = time.monotonic() - started
    # Released: the writer's batch goes in without a restart.
    assert writer.flush(timeout=30)
    assert all(r.status_code == 200 for r in responses)
    assert took < 5  # nobody waited for the lock
    assert Span.objects.filter(endpoint="health").count() == 20


def _started(worker: subprocess.Popen) -> bool:
    held = AnalysisLease.objects.exclude(holder="").exists()
    return held or worker.poll() is not None


def _complete(incident: Incident) -> bool:
    return incident.anomalies.exists() and bool(incident.root_endpoint)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_cycle_leaves_nothing_half_written(settings):
    store(shop_traffic(T0, 600, rps=6, seed=1))
    store(
        shop_traffic(FAULT_AT, 120, rps=6, fault=Fault(payment_delay_ms=2000), seed=2)
    )
    run_cycles(T0, FAULT_AT)
    settings.AIOPS_LEASE_TTL = 1.0
    database = connection.settings_dict
    url = (
        f"sqlite:///{database['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "AIOPS_LEASE_TTL": "1"}
    rng = random.Random(3)
    for _ in range(4):
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_analysis", "--at", at(630).isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Kill it somewhere inside its cycle: after it took the lease.
        wait_for(lambda w=worker: _started(w), timeout=60)
        time.sleep(rng.uniform(0, 0.3))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        for incident in Incident.objects.all():
            assert _complete(incident), "an incident without its anomalies"
        # Time passes: the dead worker's lease expires (and the next worker's
        # holder id is what the wait above looks for).
        AnalysisLease.objects.update(
            holder="", expires_at=timezone.now() - timedelta(seconds=1)
        )

    report = run_analysis_cycle(now=at(660), trigger="test")

    assert report.skipped == ""  # the dead workers' leases expired
    incident = Incident.objects.get()
    assert _complete(incident) and incident.root_endpoint == "payment"
    pairs = list(Anomaly.objects.values_list("endpoint", "type"))
    assert len(pairs) == len(set(pairs))


@pytest.mark.django_db
def test_a_lease_held_by_a_stuck_cycle_expires_and_the_next_cycle_runs():
    now = timezone.now()
    AnalysisLease.objects.create(
        name="analysis", holder="stuck-host:1:1", expires_at=now + timedelta(seconds=60)
    )

    blocked = run_analysis_cycle(now=at(30), trigger="test")
    AnalysisLease.objects.update(expires_at=now - timedelta(seconds=1))  # time passed
    ran = run_analysis_cycle(now=at(30), trigger="test")

    assert blocked.skipped == "another analysis cycle is running"
    assert ran.skipped == ""
    assert AnalysisLease.objects.get().holder == ""  # released after the cycle


@pytest.mark.django_db
def test_clock_jumps_neither_open_nor_resolve_incidents():
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(FAULT_AT, 900, fault=Fault(payment_delay_ms=2000), seed=2))
    run_cycles(T0, FAULT_AT + 120)
    incident = Incident.objects.get()

    back = run_analysis_cycle(now=at(-3600), trigger="test")  # an hour back
    run_analysis_cycle(now=at(FAULT_AT - T0 + 150), trigger="test")  # and right again
    ahead = run_analysis_cycle(
        now=at(FAULT_AT - T0 + 7200), trigger="test"
    )  # 2 h ahead
    run_analysis_cycle(now=at(FAULT_AT - T0 + 180), trigger="test")  # and back

    assert back.skipped == "" and ahead.skipped == ""
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert incident.status == "open"
    # The jumps credited at most a window of healthy time each, not hours.
    assert incident.quiet_seconds <= 120
