"""Coming from the Flask prototype: its curl walk-through and its clients' fields.

With the Quick start's development profile, anonymous clients on this machine may
do what the prototype's README does (inject faults, read metrics and incidents,
run analysis, resolve); anyone else, and everyone in production, needs a token.
"""

from __future__ import annotations

import pytest

from aiops.telemetry.models import Span
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def dev(settings):
    settings.AIOPS_DEV_OPEN_LOOPBACK = True
    settings.PRODUCTION = False
    return settings


def test_the_walk_through_works_anonymously_from_this_machine(client, dev):
    injected = client.post("/simulate/delay?endpoint=/payment&duration=3000")
    status = client.get("/simulate/status")
    metrics = client.get("/aiops/metrics")
    analyzed = client.post("/aiops/analyze")
    incidents = client.get("/aiops/incidents")
    cleared = client.post("/simulate/clear")

    assert [r.status_code for r in (injected, status, metrics, analyzed)] == [200] * 4
    assert incidents.status_code == cleared.status_code == 200
    assert status.json()["faults"][0]["endpoint"] == "payment"


def test_anyone_else_and_production_still_need_a_token(client, dev):
    remote = client.post(
        "/simulate/delay?endpoint=payment&duration=3000", REMOTE_ADDR="192.0.2.7"
    )
    forwarded = client.get(
        "/aiops/incidents", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )
    channels = client.post("/aiops/channels", {}, content_type="application/json")
    dev.PRODUCTION = True
    in_production = client.post("/simulate/delay?endpoint=payment&duration=3000")

    assert remote.status_code == forwarded.status_code == 401
    assert channels.status_code == 401  # not part of the walk-through
    assert in_production.status_code == 401


def test_the_prototype_s_fields_are_there(client, dev):
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(T0 + 600, 120, fault=Fault(inventory_error_rate=0.8), seed=2))
    run_cycles(T0, T0 + 690)

    metrics = client.get(
        "/aiops/metrics", {"window": 120, "at": "2026-01-20T10:11:30+00:00"}
    ).json()["metrics"]
    body = client.get("/aiops/incidents").json()
    analyzed = client.post("/aiops/analyze").json()

    inventory = metrics["inventory"]["health"]
    assert inventory["status"] == "unhealthy" and isinstance(
        inventory["health_score"], int
    )
    assert metrics["payment"]["health"] == {"status": "healthy", "health_score": 100}
    assert body["incident_count"] == 1
    (incident,) = body["active_incidents"]
    assert incident["status"] == "open"
    assert incident["root_cause"]["description"].startswith("Error spike")
    assert isinstance(incident["root_cause"]["confidence"], float)
    assert isinstance(incident["anomalies"], list) and incident["anomalies"]
    assert incident["trace_correlation"]["total_traces"] >= 1
    assert set(analyzed["analysis"]) == {"anomalies_detected", "incidents_created"}

    resolved = client.post(f"/aiops/incidents/{incident['id']}/resolve")
    assert resolved.json()["resolved_by"] == "localhost"


def test_the_front_door_answers_and_is_not_an_endpoint(client, dev):
    response = client.get("/")

    assert response.status_code == 200
    body = response.content.decode()
    for link in ("/aiops/dashboard/", "/admin/", "/aiops/", "/aiops/docs/"):
        assert f'href="{link}"' in body
    assert "curl" in body  # the development hint, for this machine
    assert not Span.objects.exists()
