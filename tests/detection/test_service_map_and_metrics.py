"""GET /aiops/services, /aiops/dependencies and the Prometheus /metrics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from aiops.telemetry.models import Span
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def traffic():
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(T0 + 600, 120, fault=Fault(inventory_error_rate=0.9), seed=2))
    run_cycles(T0, T0 + 750)


def test_services_with_endpoint_health(user_client, traffic):
    body = user_client.get("/aiops/services").json()

    [shop] = body["services"]
    assert shop["service"] == "shop"
    endpoints = {e["endpoint"]: e for e in shop["endpoints"]}
    assert set(endpoints) == {"checkout", "payment", "inventory"}
    assert endpoints["inventory"]["health"] == "failing"
    assert endpoints["inventory"]["incidents"]
    assert endpoints["payment"]["health"] in {"ok", "idle"}  # "idle": spans are old
    assert shop["health"] == "failing"
    assert endpoints["payment"]["latency_ms"] == pytest.approx(100, rel=0.3)


def test_dependencies_learned_from_traces(user_client, traffic):
    edges = user_client.get("/aiops/dependencies").json()["dependencies"]

    pairs = {(e["caller"]["endpoint"], e["callee"]["endpoint"]): e for e in edges}
    assert set(pairs) == {("checkout", "payment"), ("checkout", "inventory")}
    inventory = pairs[("checkout", "inventory")]
    assert inventory["calls_total"] > 500
    assert inventory["errors_total"] > 50
    assert 30 < inventory["latency_ms"] < 80
    assert inventory["network_ms"] is not None and inventory["network_ms"] < 5
    assert inventory["call_rate"] >= 0


def test_prometheus_exposition_parses_and_adds_up(traffic, staff_client):
    response = staff_client.get(
        "/metrics",
        HTTP_AUTHORIZATION=staff_client._credentials["HTTP_AUTHORIZATION"].replace(
            "Token", "Bearer"
        ),
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {
        f.name: f for f in text_string_to_metric_families(response.content.decode())
    }
    requests = {
        s.labels["endpoint"]: s.value
        for s in families["aiops_requests"].samples
        if s.name == "aiops_requests_total"
    }
    counted = requests["payment"]
    stored = Span.objects.filter(endpoint="payment").count()
    # Counted one cycle behind the newest spans, and the first count starts an hour
    # back: all but the last cycle's spans.
    assert 0.9 * stored <= counted <= stored
    errors = {
        s.labels["endpoint"]: s.value
        for s in families["aiops_request_errors"].samples
        if s.name == "aiops_request_errors_total"
    }
    assert errors["inventory"] > 50 and errors["payment"] == 0
    buckets = [
        s
        for s in families["aiops_request_duration_seconds"].samples
        if s.name.endswith("_bucket") and s.labels["endpoint"] == "payment"
    ]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == counted
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)
    incidents = {
        s.labels["severity"]: s.value
        for s in families["aiops_incidents_active"].samples
    }
    assert incidents["critical"] == 1
    assert families["aiops_analysis_cycle_duration_seconds"].samples[0].value > 0
    assert "aiops_spans_written" in families and "aiops_span_queue_depth" in families


def test_metrics_need_a_login(traffic, settings):
    assert APIClient().get("/metrics").status_code == 401
    settings.AIOPS_PUBLIC_READ = True
    assert APIClient().get("/metrics").status_code == 200
