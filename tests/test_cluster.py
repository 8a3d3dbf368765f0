"""Two django-q2 clusters against one database behave like one.

Runs against whatever the suite runs on: SQLite with the ORM broker in the first
CI pass, PostgreSQL with Redis in the second. Takes about two minutes: the
cluster's scheduler looks at schedules every 30 seconds, whatever we configure.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from aiops.detection.models import AnalysisRun, Anomaly, Incident
from tests.detection.traffic import Fault, shop_traffic, store

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
RUN_FOR = 110


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"


def test_two_clusters_run_one_cycle_per_interval_and_open_one_incident():
    now = timezone.now().timestamp()
    store(shop_traffic(now - 900, 900, seed=1))
    store(shop_traffic(now, RUN_FOR, fault=Fault(payment_delay_ms=2000), seed=2))
    call_command("aiops_setup", stdout=io.StringIO())
    Schedule.objects.update(next_run=timezone.now())
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "AIOPS_Q_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "AIOPS_Q_WORKERS": "1",
    }
    env.pop("AIOPS_Q_SYNC", None)
    clusters = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        time.sleep(RUN_FOR)  # real time is the point: the schedule runs on it
    finally:
        for cluster in clusters:
            cluster.send_signal(signal.SIGTERM)
        for cluster in clusters:
            cluster.wait(timeout=60)

    runs = list(
        AnalysisRun.objects.filter(trigger="schedule", skipped="").order_by("cycle_at")
    )
    assert len(runs) >= 3, [(r.cycle_at, r.holder) for r in runs]
    gaps = [(b.cycle_at - a.cycle_at) for a, b in zip(runs, runs[1:], strict=False)]
    assert all(gap >= timedelta(seconds=15) for gap in gaps), gaps
    assert len({r.holder.split(":")[1] for r in runs}) >= 1
    incident = Incident.objects.get()
    assert incident.root_endpoint == "payment"
    pairs = list(Anomaly.objects.values_list("endpoint", "type"))
    assert len(pairs) == len(set(pairs))
