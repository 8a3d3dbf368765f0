from __future__ import annotations

import json

import pytest

from aiops.telemetry.ingest_auth import create_ingest_token

pytestmark = pytest.mark.django_db


def test_simulation_is_throttled(staff_client, settings):
    settings.AIOPS_THROTTLE_SIMULATION = "3/min"

    codes = [
        staff_client.post("/simulate/delay?endpoint=payment&duration=10").status_code
        for _ in range(4)
    ]

    assert codes == [200, 200, 200, 429]


def test_ingestion_is_throttled_per_token(client, settings):
    settings.AIOPS_THROTTLE_OTLP = "2/min"
    body = json.dumps({"resourceSpans": []})
    keys = [create_ingest_token(name=name)[1] for name in ("a", "b")]

    def export(key, **extra):
        return client.post(
            "/v1/traces",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
            **extra,
        ).status_code

    codes = [export(keys[0], HTTP_X_FORWARDED_FOR=f"10.0.0.{n}") for n in range(3)]
    other = export(keys[1])

    # A new X-Forwarded-For per request does not buy a new budget.
    assert codes == [200, 200, 429]
    assert other == 200


def test_request_bodies_have_a_size_limit(staff_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    huge = {"name": "x" * 20_000, "kind": "slack", "url": "https://hooks.example/x"}

    response = staff_client.post("/aiops/channels", huge, format="json")

    assert response.status_code == 413
    assert "Traceback" not in response.content.decode()
