from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from aiops.detection.models import AnalysisRun, Incident
from aiops.telemetry.models import Span
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident() -> Incident:
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(T0 + 600, 120, fault=Fault(payment_delay_ms=3000), seed=2))
    run_cycles(T0, T0 + 660)
    return Incident.objects.get()


def test_incident_list_has_the_seed_shape(user_client, incident):
    body = user_client.get("/aiops/incidents").json()

    assert body["incident_count"] == 1
    assert body["resolved_count"] == 0
    item = body["active_incidents"][0]
    assert item["id"].startswith("INC-") and item["id"] == incident.public_id
    assert item["status"] == "open"
    assert item["severity"] == "high"
    assert item["root_cause"]["service"] == "shop"
    assert item["root_cause"]["endpoint"] == "payment"
    assert "Latency spike" in item["root_cause"]["issue"]
    assert 0 < item["root_cause"]["confidence"] <= 1
    assert item["root_cause"]["candidates"][0] == {
        "service": "shop",
        "endpoint": "payment",
        "score": item["root_cause"]["candidates"][0]["score"],
    }
    assert item["affected_endpoints"] == ["payment", "checkout"]
    assert item["first_detected"].endswith("+00:00")
    assert item["last_seen"].endswith("+00:00")
    assert {a["endpoint"] for a in item["anomalies"]} == {"payment", "checkout"}
    correlation = item["trace_correlation"]
    assert len(correlation["trace_id"]) == 32
    assert set(correlation["correlated_failures"]) == {
        "payment_latency",
        "checkout_latency",
    }


def test_incident_detail_and_unknown_id(user_client, incident):
    detail = user_client.get(f"/aiops/incidents/{incident.public_id}")
    missing = user_client.get("/aiops/incidents/INC-1-999")

    assert detail.status_code == 200
    assert detail.json()["id"] == incident.public_id
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("status=open", 1),
        ("status=resolved", 0),
        ("severity=high", 1),
        ("severity=low,medium", 0),
        ("service=shop", 1),
        ("service=other", 0),
        ("endpoint=checkout", 1),
        ("endpoint=inventory", 0),
    ],
)
def test_incident_filters(user_client, incident, query, count):
    body = user_client.get(f"/aiops/incidents?{query}").json()

    assert body["incident_count"] + body["resolved_count"] == count


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=closed", "status"),
        ("severity=urgent", "severity"),
        ("limit=0", "limit"),
    ],
)
def test_bad_filters_are_400_naming_the_field(user_client, query, field):
    response = user_client.get(f"/aiops/incidents?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_acknowledge_then_resolve(staff_client, incident):
    url = f"/aiops/incidents/{incident.public_id}"

    ack = staff_client.post(f"{url}/acknowledge", {"note": "on it"}, format="json")
    again = staff_client.post(f"{url}/acknowledge")
    resolved = staff_client.post(f"{url}/resolve", {"note": "rolled back"})
    resolved_again = staff_client.post(f"{url}/resolve")
    late_ack = staff_client.post(f"{url}/acknowledge")

    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == "operator"
    assert ack.json()["acknowledgment_note"] == "on it"
    assert ack.json()["acknowledged_at"].endswith("+00:00")
    assert again.status_code == 200 and again.json()["acknowledgment_note"] == "on it"
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_note"] == "rolled back"
    assert resolved_again.status_code == 200
    assert late_ack.status_code == 409


def test_actions_need_staff_and_a_known_incident(user_client, staff_client, incident):
    url = f"/aiops/incidents/{incident.public_id}/acknowledge"

    assert APIClient().post(url).status_code == 401
    assert user_client.post(url).status_code == 403
    assert (
        staff_client.post("/aiops/incidents/INC-1-999/acknowledge").status_code == 404
    )
    too_long = staff_client.post(url, {"note": "x" * 2001}, format="json")
    assert too_long.status_code == 400 and "note" in too_long.json()
    incident.refresh_from_db()
    assert incident.status == "open"


def test_reads_need_a_login(incident, settings):
    assert APIClient().get("/aiops/incidents").status_code == 401
    settings.AIOPS_PUBLIC_READ = True
    assert APIClient().get("/aiops/incidents").status_code == 200
    assert (
        APIClient().post(f"/aiops/incidents/{incident.public_id}/resolve").status_code
        == 401
    )


def test_metrics_per_endpoint_with_baselines(user_client, incident):
    body = user_client.get(
        "/aiops/metrics", {"window": 600, "at": "2026-01-20T10:10:00+00:00"}
    ).json()

    assert body["window_seconds"] == 600
    payment = body["metrics"]["payment"]
    assert payment["service"] == "shop"
    assert payment["request_count"] == sum(payment["status_distribution"].values())
    assert payment["status_distribution"] == {"200": payment["request_count"]}
    assert (
        payment["p50_latency_ms"]
        <= payment["p95_latency_ms"]
        <= payment["p99_latency_ms"]
    )
    assert 80 < payment["baseline_latency_ms"] < 130
    assert payment["error_rate"] == 0.0
    assert "POST /payment" not in body["metrics"]  # CLIENT spans are not endpoints
    assert user_client.get("/aiops/metrics?window=5").status_code == 400
    assert user_client.get("/aiops/metrics?at=yesterday").status_code == 400


def test_metrics_rates_count_only_the_time_there_was_telemetry(user_client):
    # The system started 60 s before "at": 120 checkouts in those 60 s are 2/s,
    # not 120 spread over the 300 s window.
    store(shop_traffic(T0, 60, rps=2.0, seed=4))
    count = Span.objects.filter(endpoint="checkout").count()

    body = user_client.get(
        "/aiops/metrics", {"window": 300, "at": "2026-01-20T10:01:00+00:00"}
    ).json()

    checkout = body["metrics"]["checkout"]
    assert checkout["request_count"] == count
    assert checkout["request_rate"] == pytest.approx(count / 60, abs=0.05)


def test_analyze_runs_a_cycle_for_staff_only(user_client, staff_client):
    assert APIClient().post("/aiops/analyze").status_code == 401
    assert user_client.post("/aiops/analyze").status_code == 403

    response = staff_client.post("/aiops/analyze")

    assert response.status_code == 200
    assert response.json()["trigger"] == "api"
    assert AnalysisRun.objects.filter(trigger="api").count() == 1


def test_browsable_collections(user_client, incident):
    anomalies = user_client.get(
        f"/aiops/anomalies?incident={incident.public_id}"
    ).json()
    baselines = user_client.get("/aiops/baselines/").json()
    root = user_client.get("/aiops/").json()

    assert anomalies["count"] == 2
    assert {b["endpoint"] for b in baselines["results"]} == {
        "checkout",
        "payment",
        "inventory",
    }
    assert {"incidents", "anomalies", "baselines", "metrics", "analyze"} <= set(root)


def test_openapi_schema_and_docs(user_client):
    schema = user_client.get("/aiops/schema/", HTTP_ACCEPT="application/json").json()
    docs = user_client.get("/aiops/docs/")

    assert "/aiops/incidents/{incident_id}/acknowledge" in str(schema["paths"])
    assert docs.status_code == 200
