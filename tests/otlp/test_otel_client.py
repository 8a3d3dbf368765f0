"""The real OpenTelemetry SDK, in its own process, exporting to our /v1/traces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aiops.changes.models import Change
from aiops.detection.models import DependencyEdge, Incident
from aiops.telemetry.ingest_auth import create_ingest_token
from aiops.telemetry.models import Span
from tests.detection.traffic import T0, run_cycles

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def export(url: str, *args: str) -> str:
    _, key = create_ingest_token(name=f"exporter-{len(args)}-{'-'.join(args)}")
    result = subprocess.run(
        [
            sys.executable,
            "tests/otlp/client_scenario.py",
            url,
            str(T0),
            *args,
            "--token",
            key,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_spans_are_stored_as_the_mapping_says(live_server):
    output = export(live_server.url, "2")

    exported = int(output.split()[1])
    assert Span.objects.count() == exported
    kinds = {
        (service, endpoint, kind)
        for service, endpoint, kind in Span.objects.values_list(
            "service", "endpoint", "kind"
        )
    }
    assert kinds == {
        ("gateway", "/checkout", "server"),
        ("gateway", "GET", "client"),
        ("orders", "/orders/{id}", "server"),
        ("orders", "GET", "client"),
        ("stock", "/items/{sku}", "server"),  # http.route, never url.path
    }
    call = Span.objects.filter(service="orders", kind="client").first()
    assert call.peer == "stock:8080"
    served = Span.objects.get(
        span_id=Span.objects.filter(parent_span_id=call.span_id).get().span_id
    )
    assert (
        served.service == "stock"
        and served.method == "GET"
        and served.status_code == 200
    )
    assert served.duration_ms > 0 and served.start_time.year == 2026


def test_a_fault_three_services_deep_is_blamed_on_that_service(live_server):
    export(live_server.url, "14", "--fault", "errors", "--fault-at", "600")

    run_cycles(T0, T0 + 14 * 60)

    incident = Incident.objects.get()
    assert (incident.root_service, incident.root_endpoint) == ("stock", "/items/{sku}")
    assert {s for s, _ in incident.affected} == {"stock", "orders", "gateway"}
    failed = Span.objects.filter(service="stock", is_error=True).first()
    assert failed.error_type == "RuntimeError"
    assert "hunter2" not in failed.error_message  # scrubbed on the way in
    assert "RuntimeError" in failed.stack_trace and "hunter2" not in failed.stack_trace
    edges = set(DependencyEdge.objects.values_list("caller_service", "callee_service"))
    assert edges == {("gateway", "orders"), ("orders", "stock")}


def test_a_slow_hop_between_two_services_is_reported_as_the_network(live_server):
    export(live_server.url, "14", "--fault", "network", "--fault-at", "600")

    run_cycles(T0, T0 + 14 * 60)

    # The hop is slow while stock answers as fast as ever. Of the two sides,
    # orders has a healthy link too (from gateway), stock's only link is the slow
    # one: the calls to stock are blamed, and said to be slow on the way.
    incident = Incident.objects.get()
    assert (incident.root_service, incident.root_endpoint) == (
        "stock",
        "/items/{sku}",
    )
    assert incident.root_issue.startswith("Slow calls to stock: orders -> stock take")
    assert "longer than the callee's own time" in incident.root_issue


def test_a_new_service_version_is_a_deployment_blamed_for_its_fault(live_server):
    export(
        live_server.url,
        "14",
        *("--fault", "errors", "--fault-at", "600", "--deploy-at", "600"),
    )

    run_cycles(T0, T0 + 14 * 60)

    assert set(
        Span.objects.filter(service="stock").values_list("version", flat=True)
    ) == {"1.0.0", "2.0.0"}
    # The first span of 2.0.0 is a deployment; the other services' one version
    # is none.
    (change,) = Change.objects.all()
    assert (change.service, change.version, change.previous_version) == (
        "stock",
        "2.0.0",
        "1.0.0",
    )
    assert change.source == "spans"
    incident = Incident.objects.get()
    assert (incident.root_service, incident.root_endpoint) == ("stock", "/items/{sku}")
    first = incident.candidates[0]
    assert first["change"]["id"] == change.pk
    assert first["evidence"].startswith("errors on stock started 0 s after stock 2.0.0")
    assert incident.events.filter(kind="change").count() == 1
