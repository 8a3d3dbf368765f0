from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aiops.detection.models import AnalysisRun, Incident
from aiops.telemetry.models import Span
from aiops.telemetry.retention import prune_spans
from tests.detection.traffic import Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


def test_old_spans_go_recent_ones_and_incident_evidence_stay():
    now = timezone.now()
    start = (now - timedelta(days=10)).timestamp()
    store(shop_traffic(start, 600, seed=1))
    store(shop_traffic(start + 600, 120, fault=Fault(payment_delay_ms=3000), seed=2))
    run_cycles(start, start + 700)  # an incident, still open, from ten days ago
    incident = Incident.objects.get()
    # What the incident shows as evidence: its traces and its anomalies' examples.
    evidence = set(incident.trace_ids) | {
        trace for a in incident.anomalies.all() for trace in a.example_trace_ids
    }
    recent = shop_traffic(now.timestamp() - 3600, 300, seed=3)
    store(recent)
    # Spans dated in 2100, stored before future spans were refused.
    future = shop_traffic(datetime(2100, 1, 1, tzinfo=UTC).timestamp(), 60, seed=4)
    store(future)
    old_total = Span.objects.filter(start_time__lt=now - timedelta(days=7)).count()
    AnalysisRun.objects.update(started_at=now - timedelta(days=10))  # as if run then
    out = io.StringIO()

    call_command("prune_telemetry", stdout=out)

    assert not Span.objects.filter(start_time__year=2100).exists()
    kept_old = Span.objects.filter(start_time__lt=now - timedelta(days=7))
    assert set(kept_old.values_list("trace_id", flat=True)) == evidence
    assert Span.objects.filter(start_time__gte=now - timedelta(days=7)).count() == len(
        recent
    )
    deleted = old_total - kept_old.count() + len(future)
    assert f"Deleted {deleted} spans" in out.getvalue()
    assert AnalysisRun.objects.count() == 0  # runs of ten days ago went too
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_deletes_in_bounded_batches_without_in_lists():
    old = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    store(shop_traffic(old, 600, seed=4))
    total = Span.objects.count()

    with CaptureQueriesContext(connection) as queries:
        result = prune_spans(before=datetime(2021, 1, 1, tzinfo=UTC), batch_size=1000)

    assert result.deleted == total and Span.objects.count() == 0
    assert result.batches == -(-total // 1000)
    deletes = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")
    ]
    assert len(deletes) == result.batches + 1  # the last one finds nothing
    assert all("LIMIT 1000" in sql and sql.count(",") < 20 for sql in deletes)


def test_retention_days_must_be_positive():
    with pytest.raises(Exception, match="--days must be a positive number"):
        call_command("prune_telemetry", days=0, stdout=io.StringIO())
