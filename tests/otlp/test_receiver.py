"""POST /v1/traces as the OTLP/HTTP specification defines it."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from django.db import connection
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from aiops.telemetry.ingest_auth import create_ingest_token
from aiops.telemetry.models import Span
from aiops.telemetry.otlp import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """The test client as an exporter with the default ingest token."""
    _, key = create_ingest_token(name="exporter")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


PROTOBUF = "application/x-protobuf"
TRACE = "5b8efff798038103d269b633813fc60c"


def span(
    span_id: str, *, name="GET /items/{sku}", kind=2, trace=TRACE, **extra
) -> dict:
    return {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": 1544712661000000000,
        "attributes": [
            {"key": "http.route", "value": {"stringValue": "/items/{sku}"}},
            {"key": "url.path", "value": {"stringValue": "/items/9912"}},
            {"key": "http.request.method", "value": {"stringValue": "GET"}},
            {"key": "http.response.status_code", "value": {"intValue": "200"}},
        ],
        **extra,
    }


def payload(*spans, service="stock") -> dict:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": service}}
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "my.library", "version": "1.0.0"},
                        "spans": list(spans),
                    }
                ],
                "schemaUrl": "https://opentelemetry.io/schemas/1.24.0",
            }
        ]
    }


def post(client, body, content_type="application/json", **headers):
    if isinstance(body, dict):
        body = json.dumps(body)
    return client.post("/v1/traces", data=body, content_type=content_type, **headers)


def as_protobuf(document: dict) -> bytes:
    from aiops.telemetry.otlp.decoding import JSON, decode

    return decode(json.dumps(document).encode(), JSON).SerializeToString()


def test_the_specification_s_json_example_is_accepted(client):
    document = payload(
        span(
            "eee19b7ec3c1b174",
            parentSpanId="eee19b7ec3c1b173",
            status={"code": 0},
            someFutureField=True,
        ),
    )
    document["resourceSpans"][0]["unknownTopLevel"] = {"x": 1}

    response = post(client, document)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    stored = Span.objects.get()
    assert stored.trace_id == TRACE and stored.span_id == "eee19b7ec3c1b174"
    assert stored.parent_span_id == "eee19b7ec3c1b173"
    assert (stored.service, stored.endpoint, stored.kind) == (
        "stock",
        "/items/{sku}",
        "server",
    )
    assert stored.method == "GET" and stored.status_code == 200
    assert stored.duration_ms == 1000.0
    assert stored.start_time.isoformat() == "2018-12-13T14:51:00+00:00"


def test_protobuf_in_protobuf_out_and_gzip(client):
    body = gzip.compress(as_protobuf(payload(span("00f067aa0ba902b7"))))

    response = post(client, body, PROTOBUF, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Type"] == PROTOBUF
    assert ExportTraceServiceResponse.FromString(response.content) == (
        ExportTraceServiceResponse()
    )
    assert Span.objects.count() == 1


def test_a_redelivered_export_is_stored_once(client):
    body = as_protobuf(payload(span("00f067aa0ba902b7"), span("00f067aa0ba902b8")))

    post(client, body, PROTOBUF)
    post(client, body, PROTOBUF)

    assert Span.objects.count() == 2


def test_a_large_export_partly_redelivered_stores_each_span_once(client):
    # 299 spans cross SQLite's multi-row statements (256 + 32 + 8 + 2 + 1) and
    # PostgreSQL's executemany alike; the second export repeats 150 of them.
    first = [span(f"{n + 1:016x}") for n in range(299)]
    second = first[149:] + [span(f"{n + 1:016x}") for n in range(299, 310)]
    for spans in (first, second):
        assert post(client, as_protobuf(payload(*spans)), PROTOBUF).status_code == 200

    assert Span.objects.count() == 310
    ids = set(Span.objects.values_list("span_id", flat=True))
    assert ids == {f"{n + 1:016x}" for n in range(310)}


def test_invalid_spans_are_rejected_the_rest_stored(client):
    document = payload(
        span("00f067aa0ba902b7"),
        span("0000000000000000"),  # all-zero span id
        span("00f067aa0ba902b9", trace="xyz"),  # not hex
        span("00f067aa0ba902ba", endTimeUnixNano="1"),  # ends before it starts
    )

    response = post(client, document)

    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "3"
    assert (
        "span_id" in partial["errorMessage"] and "trace_id" in partial["errorMessage"]
    )
    assert Span.objects.count() == 1


def test_mapping_of_kinds_errors_and_spans_without_http(client):
    document = payload(
        span(
            "00f067aa0ba902b1",
            kind=3,
            name="GET",
            attributes=[
                {"key": "peer.service", "value": {"stringValue": "stock"}},
                {"key": "http.response.status_code", "value": {"intValue": 503}},
            ],
        ),
        span(
            "00f067aa0ba902b2",
            kind=2,
            attributes=[],
            name="/grpc.Stock/Reserve",
            status={"code": 2, "message": "deadline exceeded"},
        ),
        span("00f067aa0ba902b3", kind=1, name="render", attributes=[]),
        span(
            "00f067aa0ba902b4",
            kind=2,
            events=[
                {
                    "name": "exception",
                    "timeUnixNano": "1544712660500000000",
                    "attributes": [
                        {"key": "exception.type", "value": {"stringValue": "KeyError"}},
                        {
                            "key": "exception.message",
                            "value": {"stringValue": "token=abc123"},
                        },
                        {
                            "key": "exception.stacktrace",
                            "value": {
                                "stringValue": "Traceback...\nKeyError: api_key=s3cr3t"
                            },
                        },
                    ],
                }
            ],
            status={"code": 2},
        ),
        service="orders",
    )

    assert post(client, document).status_code == 200

    by_id = {s.span_id: s for s in Span.objects.all()}
    call = by_id["00f067aa0ba902b1"]
    assert (call.kind, call.endpoint, call.peer, call.is_error) == (
        "client",
        "GET",
        "stock",
        True,
    )
    grpc = by_id["00f067aa0ba902b2"]
    assert (grpc.kind, grpc.endpoint, grpc.status_code) == (
        "server",
        "/grpc.Stock/Reserve",
        None,
    )
    assert grpc.is_error and grpc.error_message == "deadline exceeded"
    assert by_id["00f067aa0ba902b3"].kind == "internal"
    failed = by_id["00f067aa0ba902b4"]
    assert failed.error_type == "KeyError"
    assert "abc123" not in failed.error_message and "s3cr3t" not in failed.stack_trace


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"\xff\xff\xff not protobuf", PROTOBUF, 400),
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (json.dumps({"resourceSpans": "nope"}).encode(), "application/json", 400),
        (b"hello", "text/plain", 415),
    ],
)
def test_undecodable_payloads_get_a_status_body_and_store_nothing(
    client, body, content_type, status
):
    response = post(client, body, content_type)

    assert response.status_code == status
    if content_type == PROTOBUF:
        message = status_pb2.Status.FromString(response.content)
        assert message.code == 3 and message.message
    else:
        assert set(response.json()) >= {"code", "message"}
    assert Span.objects.count() == 0


def test_oversized_and_gzip_bombs_are_413(client, settings):
    settings.AIOPS_OTLP_MAX_BYTES = 64 * 1024
    big = b"x" * (65 * 1024)
    bomb = gzip.compress(b"\x00" * (10 * 1024 * 1024))  # ~10 KB that inflates to 10 MB

    too_big = post(client, big, PROTOBUF)
    inflated = post(client, bomb, PROTOBUF, HTTP_CONTENT_ENCODING="gzip")
    not_gzip = post(client, b"plain", PROTOBUF, HTTP_CONTENT_ENCODING="gzip")

    assert too_big.status_code == 413 and len(bomb) < 64 * 1024
    assert inflated.status_code == 413
    assert not_gzip.status_code == 400
    assert Span.objects.count() == 0


def test_anonymous_exports_are_refused(client):
    body = payload(span("00f067aa0ba902b7"))

    missing = post(client, body, HTTP_AUTHORIZATION="")
    wrong = post(client, body, HTTP_AUTHORIZATION="Bearer aiops_not-a-key")
    api_token = post(client, body, HTTP_AUTHORIZATION="Token abc")

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and api_token.status_code == 401
    assert Span.objects.count() == 0


def test_legacy_token_setting_is_one_more_key(client, settings):
    settings.AIOPS_OTLP_TOKEN = "s3cret-token"
    body = payload(span("00f067aa0ba902b7"))

    right = post(client, body, HTTP_AUTHORIZATION="Bearer s3cret-token")

    assert right.status_code == 200
    assert Span.objects.count() == 1


def test_a_token_writes_only_its_own_services(client):
    _, key = create_ingest_token(name="orders-prod", services=["orders"])
    body = payload(span("00f067aa0ba902b7"), service="orders")
    body["resourceSpans"] += payload(span("00f067aa0ba902b8"), service="stock")[
        "resourceSpans"
    ]

    response = post(client, body, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert (
        "may not write spans for service 'stock'"
        in (response.json()["partialSuccess"]["errorMessage"])
    )
    assert list(Span.objects.values_list("service", flat=True)) == ["orders"]


def test_nobody_forges_the_app_s_own_spans(client, settings):
    body = payload(span("00f067aa0ba902b7"), service=settings.AIOPS_SERVICE_NAME)

    response = post(client, body)

    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert (
        "only its middleware records it"
        in (response.json()["partialSuccess"]["errorMessage"])
    )
    assert Span.objects.count() == 0


def test_loopback_may_export_without_a_key_in_development_only(client, settings):
    settings.AIOPS_OTLP_OPEN_LOOPBACK = True
    body = payload(span("00f067aa0ba902b7"))

    local = post(client, body, HTTP_AUTHORIZATION="", REMOTE_ADDR="127.0.0.1")
    remote = post(client, body, HTTP_AUTHORIZATION="", REMOTE_ADDR="10.1.2.3")
    forwarded = post(
        client,
        body,
        HTTP_AUTHORIZATION="",
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="127.0.0.1",
    )
    settings.PRODUCTION = True
    in_production = post(client, body, HTTP_AUTHORIZATION="", REMOTE_ADDR="127.0.0.1")

    assert local.status_code == 200
    assert remote.status_code == forwarded.status_code == 401
    assert in_production.status_code == 401


def test_spans_from_the_future_are_refused(client):
    now_ns = time.time_ns()
    soon = span(
        "00f067aa0ba902b7",
        startTimeUnixNano=str(now_ns - 10**9),
        endTimeUnixNano=str(now_ns),
    )
    later = span(
        "00f067aa0ba902b8",
        startTimeUnixNano=str(now_ns + 120 * 10**9),
        endTimeUnixNano=str(now_ns + 121 * 10**9),
    )
    forever = span(
        "00f067aa0ba902b9",
        startTimeUnixNano=str(now_ns),
        endTimeUnixNano=str(now_ns + 86_400 * 10**9),
    )

    response = post(client, payload(soon, later, forever))

    assert response.json()["partialSuccess"]["rejectedSpans"] == "2"
    assert "in the future" in response.json()["partialSuccess"]["errorMessage"]
    assert list(Span.objects.values_list("span_id", flat=True)) == ["00f067aa0ba902b7"]


def test_saturated_receiver_asks_to_retry(client):
    slots = ingest._ingest_slots()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        response = post(client, payload(span("00f067aa0ba902b7")))
    finally:
        for _ in range(taken):
            slots.release()

    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert Span.objects.count() == 0


def test_unavailable_storage_is_503_with_retry_after(client):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE telemetry_span RENAME TO telemetry_span_away")
    try:
        response = post(client, payload(span("00f067aa0ba902b7")))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE telemetry_span_away RENAME TO telemetry_span")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "hunter" not in response.content.decode()
    assert Span.objects.count() == 0


def test_only_post(client):
    assert client.get("/v1/traces").status_code == 405


def test_empty_export_is_fine(client):
    empty = ExportTraceServiceRequest().SerializeToString()

    # The test client drops Content-Type for an empty body; real exporters do not.
    response = client.generic("POST", "/v1/traces", data=empty, CONTENT_TYPE=PROTOBUF)

    assert response.status_code == 200
