"""GET /healthz and /healthz/analysis: what supervisors and orchestrators poll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from aiops.detection.analysis import run_analysis_cycle
from aiops.detection.models import AnalysisRun

pytestmark = pytest.mark.django_db


def test_web_health_answers_without_login(client):
    body = client.get("/healthz").json()

    assert body == {"status": "ok", "last_analysis_age_s": None}


def test_analysis_health_is_503_until_a_cycle_ran_and_when_cycles_stop(
    client, settings
):
    settings.AIOPS_STALL_AFTER = 60
    before = client.get("/healthz/analysis")
    run_analysis_cycle(now=timezone.now(), trigger="test")
    fresh = client.get("/healthz/analysis")
    AnalysisRun.objects.update(started_at=timezone.now() - timedelta(seconds=61))
    stalled = client.get("/healthz/analysis")

    assert before.status_code == 503
    assert before.json()["status"] == "no analysis cycle yet"
    assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
    assert stalled.status_code == 503
    assert stalled.json()["status"] == "stalled"
    assert stalled.json()["last_analysis_age_s"] >= 61


def test_skipped_or_failed_cycles_do_not_count_as_alive(client, settings):
    settings.AIOPS_STALL_AFTER = 60
    AnalysisRun.objects.create(
        cycle_at=timezone.now(),
        started_at=timezone.now(),
        trigger="test",
        skipped="failed",
        error="OperationalError: database is locked",
    )

    assert client.get("/healthz/analysis").status_code == 503
