from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from aiops.detection.models import Incident
from aiops.telemetry.models import Span
from tests.detection.traffic import run_cycles, shop_traffic, store

ROOT = Path(__file__).resolve().parents[2]
SCANNER_PATHS = [
    "/wp-login.php",
    "/wp-admin/setup-config.php",
    "/.env",
    "/.git/config",
    "/phpmyadmin/index.php",
    "/cgi-bin/luci",
    "/admin.php",
    "/actuator/health",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/xmlrpc.php",
    "/boaform/admin/formLogin",
    "/HNAP1/",
    "/.aws/credentials",
    "/server-status",
]


@pytest.mark.django_db
def test_scanners_404_storms_and_health_floods_open_nothing(client):
    now = timezone.now().timestamp()
    store(shop_traffic(now - 1800, 1830, seed=1))  # a normal half hour, going on
    run_cycles(now - 1800, now - 60)
    rng = random.Random(5)
    for n in range(400):  # a scanner working through its list, and random junk
        path = rng.choice(SCANNER_PATHS) if n % 2 else f"/{secrets.token_hex(6)}.php"
        client.get(path, {"id": str(n)})
    for _ in range(600):  # a load balancer's health checks gone wild
        client.get("/health")

    run_cycles(now - 60, timezone.now().timestamp() + 30)

    assert Span.objects.filter(endpoint="unmatched").count() == 400
    assert Incident.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.urls("tests.urls")
def test_secrets_in_exceptions_paths_and_headers_are_scrubbed(client):
    client.raise_request_exception = False
    aws = "AKIAIOSFODNN7EXAMPLE"
    bearer = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"
    session = "k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8"

    response = client.get(
        "/leaky",
        {"user": "ann", "password": "hunter2!", "api_key": aws, "next": "/cart"},
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
        HTTP_COOKIE=f"sessionid={session}; csrftoken=abc123csrf",
    )

    assert response.status_code == 500
    span = Span.objects.get(endpoint="leaky")
    stored = span.error_message + span.stack_trace
    leaked = [s for s in ("hunter2", aws, bearer, session, "abc123csrf") if s in stored]
    assert leaked == []
    assert "user=ann" in span.error_message and "[REDACTED]" in span.error_message
    assert "next=%2Fcart" in span.error_message  # what is not secret stays readable
    assert "hunter2" not in response.content.decode() and "Traceback" not in str(
        response.content
    )


# transaction=True: on PostgreSQL the failing query would otherwise abort the test's
# own transaction, and the table could not be renamed back.
@pytest.mark.django_db(transaction=True)
def test_api_errors_carry_no_stack_trace_or_internals(user_client):
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE detection_incident RENAME TO detection_incident_away"
        )
    try:
        user_client.raise_request_exception = False
        response = user_client.get("/aiops/incidents")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE detection_incident_away RENAME TO detection_incident"
            )

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    body = response.content.decode()
    assert "Traceback" not in body and "detection_incident" not in body


def test_production_profile_passes_check_deploy():
    env = {
        **os.environ,
        "AIOPS_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "aiops.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "AIOPS_ENV": "production"}
    env.pop("DJANGO_SECRET_KEY", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
