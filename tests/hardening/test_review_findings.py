"""The security review's medium and low findings, each through the surface it
was found on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from aiops.detection.models import EndpointBaseline, Incident
from aiops.notifications.models import Channel, Notification
from aiops.notifications.payloads import slack
from aiops.telemetry.counters import count_lost
from aiops.telemetry.ingest_auth import create_ingest_token
from aiops.telemetry.models import ProcessStats, Span
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_slack_messages_show_names_literally():
    incident = Incident(
        public_id="INC-1-1",
        title="Error spike on <!channel> <https://evil.example|your bank>",
        severity="high",
        root_service="svc",
        root_endpoint="<!here>",
        root_issue="x & y",
        first_detected=datetime.now(tz=UTC),
        last_seen=datetime.now(tz=UTC),
        affected=[["svc", "<!here>"]],
    )
    channel = Channel(name="s", kind="slack", url="https://hooks.slack.com/x")

    message = json.dumps(
        slack(incident, Notification(event="opened", severity="high"), channel)
    )

    for dangerous in ("<!channel>", "<!here>", "<https://evil.example|"):
        assert dangerous not in message
    assert "&lt;!channel&gt;" in message and "x &amp; y" in message


def test_json_nested_too_deeply_is_a_400(client, staff_client):
    deep = "[" * 100_000 + "]" * 100_000
    _, key = create_ingest_token(name="t")

    otlp = client.post(
        "/v1/traces",
        deep,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    api = staff_client.post("/aiops/silences", deep, content_type="application/json")

    assert otlp.status_code == 400 and api.status_code == 400
    assert "nested too deeply" in otlp.json()["message"]


def test_metrics_at_the_ends_of_the_calendar_is_a_400(user_client):
    for at in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        response = user_client.get("/aiops/metrics", {"at": at})
        assert response.status_code == 400
        assert "at" in response.json()


def test_admin_span_list_for_year_9999_is_a_bad_parameter(client):
    client.force_login(make_user("boss", staff=True))
    from django.contrib.auth.models import User

    User.objects.filter(username="boss").update(is_superuser=True)

    response = client.get("/admin/telemetry/span/?start_time__year=9999")

    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_metrics_keys_cannot_be_made_to_collide(user_client):
    for service, endpoint in (
        ("shop", "payment"),
        ("z", "shop/payment"),
        ("y", "payment"),
    ):
        EndpointBaseline.objects.create(
            service=service, endpoint=endpoint, sample_count=1
        )

    metrics = user_client.get("/aiops/metrics").json()["metrics"]

    assert len(metrics) == 3
    found = {(m["service"], m["endpoint"]) for m in metrics.values()}
    assert found == {("shop", "payment"), ("z", "shop/payment"), ("y", "payment")}
    assert metrics["y/payment"]["service"] == "y"


def test_otlp_names_lose_control_characters(client, settings):
    _, key = create_ingest_token(name="t")
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "00f067aa0ba902b7",
        "name": "GET /a\x00\nb",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
    }
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "o\x00rders"}}
                    ]
                },
                "scopeSpans": [{"spans": [span]}],
            }
        ]
    }

    client.post(
        "/v1/traces",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert list(Span.objects.values_list("service", "endpoint")) == [
        ("o rders", "GET /a b")
    ]


def test_repeated_wrong_passwords_lock_the_sign_in(client, settings):
    settings.AIOPS_LOGIN_MAX_FAILURES = 3
    cache.clear()
    make_user("alice", staff=True)

    def sign_in(password: str):
        return client.post("/admin/login/", {"username": "alice", "password": password})

    wrong = [sign_in("nope") for _ in range(3)]
    locked = sign_in("correct horse battery")

    assert all(r.status_code == 200 for r in wrong)
    assert locked.status_code == 200
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_webhooks_to_this_machine_or_metadata_are_refused(staff_client):
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::1]/hook",
    ):
        response = staff_client.post(
            "/aiops/channels",
            {"name": url[:40], "kind": "webhook", "url": url},
            format="json",
        )
        assert response.status_code == 400, url
        assert "url" in response.json()
    allowed = staff_client.post(
        "/aiops/channels",
        {"name": "internal", "kind": "webhook", "url": "http://10.1.2.3/hook"},
        format="json",
    )
    assert allowed.status_code == 201


def test_a_killed_worker_s_queued_spans_are_counted_as_dropped():
    row = ProcessStats.objects.create(
        host="web1", pid=4242, queued=8, spans_dropped=1, updated_at=datetime.now(UTC)
    )

    assert count_lost(host="web1", pid=4242) == 8
    assert count_lost(host="web1", pid=4242) == 0  # counted once
    row.refresh_from_db()
    assert (row.spans_dropped, row.queued) == (9, 0)
