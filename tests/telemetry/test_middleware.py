from __future__ import annotations

import time

import pytest
from django.db import connection

from aiops.telemetry.models import Span
from aiops.telemetry.writer import get_writer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_PARENT = "00f067aa0ba902b7"


def only_span() -> Span:
    spans = list(Span.objects.all())
    assert len(spans) == 1, spans
    return spans[0]


def test_one_span_per_request_with_its_fields(client):
    response = client.get("/health")

    assert response.status_code == 200
    span = only_span()
    assert span.service == "shop"
    assert span.endpoint == "health"
    assert span.method == "GET"
    assert span.status_code == 200
    assert span.kind == "server"
    assert 0 < span.duration_ms < 5_000
    assert span.start_time.tzinfo is not None
    assert len(span.trace_id) == 32 and len(span.span_id) == 16
    assert span.parent_span_id is None
    assert span.is_error is False
    assert response["X-Trace-ID"] == span.trace_id
    assert response["traceparent"] == f"00-{span.trace_id}-{span.span_id}-01"
    assert response.json()["trace_id"] == span.trace_id


def test_new_trace_ids_start_with_the_time_and_end_random(client):
    # The time prefix keeps inserts into the (trace_id, span_id) index at its end;
    # the rest must still differ on every request.
    before = int(time.time())
    ids = [client.get("/health")["X-Trace-ID"] for _ in range(20)]
    after = int(time.time())

    assert all(before <= int(trace[:8], 16) <= after for trace in ids)
    assert len({trace[8:] for trace in ids}) == 20
    assert len({trace[16:] for trace in ids}) == 20  # the 64 bits samplers read
    assert sorted(ids, key=lambda trace: trace[:8]) == ids
    assert Span.objects.filter(trace_id__in=ids).count() == 20


def test_incoming_traceparent_is_continued(client):
    client.get("/health", HTTP_TRACEPARENT=f"00-{INCOMING_TRACE}-{INCOMING_PARENT}-01")

    span = only_span()
    assert span.trace_id == INCOMING_TRACE
    assert span.parent_span_id == INCOMING_PARENT
    assert span.span_id != INCOMING_PARENT


@pytest.mark.parametrize(
    "header",
    [
        f"00-{'0' * 32}-{INCOMING_PARENT}-01",  # all-zero trace id
        f"00-{INCOMING_TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{INCOMING_TRACE}-{INCOMING_PARENT}-01",  # forbidden version
        f"00-{INCOMING_TRACE.upper()}-{INCOMING_PARENT}-01",  # uppercase hex
        f"00-{INCOMING_TRACE}-{INCOMING_PARENT}-01-extra",  # version 00 with more
        "00-abc-def-01",
        "garbage",
    ],
)
def test_invalid_traceparent_starts_a_new_trace(client, header):
    client.get("/health", HTTP_TRACEPARENT=header)

    span = only_span()
    assert span.trace_id not in (INCOMING_TRACE, "0" * 32)
    assert span.parent_span_id is None


def test_future_traceparent_version_with_extra_fields_is_accepted(client):
    client.get(
        "/health", HTTP_TRACEPARENT=f"01-{INCOMING_TRACE}-{INCOMING_PARENT}-01-xyz"
    )

    assert only_span().trace_id == INCOMING_TRACE


def test_prototype_x_trace_id_header_is_accepted(client):
    client.get("/health", HTTP_X_TRACE_ID="123e4567-e89b-12d3-a456-426614174000")
    client.get("/health", HTTP_X_TRACE_ID="abc-123-def")
    client.get("/health", HTTP_X_TRACE_ID="abc-123-def")

    spans = list(Span.objects.order_by("id"))
    assert spans[0].trace_id == "123e4567e89b12d3a456426614174000"
    assert spans[1].trace_id == spans[2].trace_id  # same legacy id, same trace
    assert len(spans[1].trace_id) == 32


def test_exception_is_recorded_once_with_a_scrubbed_stack_trace(client):
    client.raise_request_exception = False

    response = client.get("/boom")

    assert response.status_code == 500
    span = only_span()
    assert span.endpoint == "boom"
    assert span.is_error is True
    assert span.error_type == "ValueError"
    assert "rejected" in span.error_message
    assert "hunter2" not in span.error_message
    assert "Traceback" in span.stack_trace and "def boom" not in span.stack_trace
    assert "raise ValueError" in span.stack_trace
    assert "hunter2" not in span.stack_trace


def test_client_errors_are_not_errors(client):
    response = client.get("/orders/7/missing")

    assert response.status_code == 404
    span = only_span()
    assert span.status_code == 404
    assert span.is_error is False


def test_endpoint_is_the_route_not_the_raw_path(client):
    client.get("/orders/1")
    client.get("/orders/2")
    client.get("/orders/3/missing")

    assert set(Span.objects.values_list("endpoint", flat=True)) == {
        "order-detail",
        "orders/<int:order_id>/missing",
    }


def test_unknown_urls_share_one_bucket(client):
    for path in ("/wp-login.php", "/.env", "/a/b/c?x=1"):
        assert client.get(path).status_code == 404

    assert list(Span.objects.values_list("endpoint", flat=True).distinct()) == [
        "unmatched"
    ]


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/simulate/status", "/aiops/", "/static/x.css"]
)
def test_excluded_paths_are_not_recorded(client, path):
    client.get(path)

    assert Span.objects.count() == 0


def test_exclude_list_is_configurable(client, settings):
    settings.AIOPS_TELEMETRY_EXCLUDE_PATHS = ["/health"]

    client.get("/health")
    client.get("/orders/1")

    assert list(Span.objects.values_list("endpoint", flat=True)) == ["order-detail"]


def test_broken_telemetry_database_does_not_break_the_request(client):
    writer = get_writer()
    dropped_before = writer.snapshot()["dropped"]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE telemetry_span RENAME TO telemetry_span_away")
    try:
        response = client.get("/health")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE telemetry_span_away RENAME TO telemetry_span")

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert writer.snapshot()["dropped"] == dropped_before + 1
    # Recovers without a restart: the next request is recorded again.
    client.get("/health")
    assert Span.objects.count() == 1


def test_the_service_version_setting_is_stamped_on_every_span(settings):
    from django.test import Client

    settings.AIOPS_SERVICE_VERSION = "git-3f2a9c1"
    Client().get("/health")

    assert only_span().version == "git-3f2a9c1"
