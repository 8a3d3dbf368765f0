from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_simulation_is_throttled(staff_client, settings):
    settings.AIOPS_THROTTLE_SIMULATION = "3/min"

    codes = [
        staff_client.post("/simulate/delay?endpoint=payment&duration=10").status_code
        for _ in range(4)
    ]

    assert codes == [200, 200, 200, 429]


def test_ingestion_is_throttled_per_client(client, settings):
    settings.AIOPS_THROTTLE_OTLP = "2/min"
    body = json.dumps({"resourceSpans": []})

    codes = [
        client.post("/v1/traces", body, content_type="application/json").status_code
        for _ in range(3)
    ]
    other = client.post(
        "/v1/traces", body, content_type="application/json", REMOTE_ADDR="10.0.0.9"
    )

    assert codes == [200, 200, 429]
    assert other.status_code == 200


def test_request_bodies_have_a_size_limit(staff_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    huge = {"name": "x" * 20_000, "kind": "slack", "url": "https://hooks.example/x"}

    response = staff_client.post("/aiops/channels", huge, format="json")

    assert response.status_code == 413
    assert "Traceback" not in response.content.decode()
