"""Every route in the URLconf has an access rule, and the rule holds.

A new route without an entry in RULES fails ``test_every_route_has_a_rule``. The
README's permission matrix is this table.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from aiops.changes.models import Change
from aiops.detection.models import Anomaly, EndpointBaseline, Incident
from aiops.notifications.models import Channel, Notification, Silence
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db

ANON, USER, STAFF = "anonymous", "authenticated", "staff"
# An ingest token (OTLP exporters): neither users nor staff write spans.
INGEST = "ingest token"
RANK = {ANON: 0, USER: 1, STAFF: 2, INGEST: 3}
# route name -> (who may read (GET), who may write (POST/PUT/PATCH/DELETE)); None:
# the method does not exist there.
RULES = {
    # The monitored demo service, and the OTLP receiver (an ingest token's key).
    "health": (ANON, None),
    "checkout": (None, ANON),
    "payment": (None, ANON),
    "inventory": (ANON, None),
    "favicon": (ANON, None),
    "otlp-traces": (None, INGEST),
    # The front door: links, nothing else.
    "front-door": (ANON, None),
    # Liveness for supervisors and orchestrators: a status word and an age.
    "healthz": (ANON, None),
    "healthz-analysis": (ANON, None),
    # Simulation controls.
    "simulate-status": (USER, None),
    "simulate-delay": (None, STAFF),
    "simulate-error": (None, STAFF),
    "simulate-clear": (None, STAFF),
    # The API.
    "api-root": (USER, None),
    "schema": (USER, None),
    "api-docs": (USER, None),
    "incident-list": (USER, None),
    "incident-detail": (USER, None),
    "incident-acknowledge": (None, STAFF),
    "incident-resolve": (None, STAFF),
    "anomaly-list": (USER, None),
    "anomaly-detail": (USER, None),
    "baseline-list": (USER, None),
    "baseline-detail": (USER, None),
    "metrics": (USER, None),
    "services": (USER, None),
    "dependencies": (USER, None),
    "analyze-list": (None, STAFF),
    "channel-list": (USER, STAFF),
    "channel-detail": (USER, STAFF),
    "change-list": (USER, STAFF),
    "change-detail": (USER, None),
    "silence-list": (USER, STAFF),
    "silence-detail": (USER, STAFF),
    "notification-list": (USER, None),
    "notification-detail": (USER, None),
    "prometheus-metrics": (USER, None),
    # People's pages.
    "dashboard:overview": (USER, None),
    "dashboard:endpoint": (USER, None),
    "dashboard:incidents": (USER, None),
    "dashboard:incident": (USER, None),
    "dashboard:map": (USER, None),
    "dashboard:acknowledge": (None, STAFF),
    "dashboard:resolve": (None, STAFF),
}
# The Django admin: staff only, every one of its routes.
ADMIN = "admin:"


def routes() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    pattern.namespace or namespace,
                )
            elif isinstance(pattern, URLPattern):
                name = (f"{namespace}:" if namespace else "") + (pattern.name or "")
                found.setdefault(name, prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "", None)
    return found


def test_every_route_has_a_rule():
    missing = [
        f"{name or '(unnamed)'} {route}"
        for name, route in routes().items()
        if name not in RULES and not name.startswith(ADMIN)
    ]
    assert missing == [], "routes without an access rule: " + ", ".join(missing)


@pytest.fixture
def objects():
    from django.utils import timezone

    now = timezone.now()
    incident = Incident.objects.create(
        public_id="INC-1-1",
        fingerprint="shop/payment",
        title="t",
        severity="high",
        root_service="shop",
        root_endpoint="payment",
        root_issue="x",
        first_detected=now,
        last_seen=now,
        affected=[["shop", "payment"]],
    )
    anomaly = Anomaly.objects.create(
        incident=incident,
        type="latency_anomaly",
        service="shop",
        endpoint="payment",
        severity="high",
        summary="s",
        observed=1,
        expected=1,
        ratio=1,
        sample_count=1,
        window_start=now,
        window_end=now,
        first_seen=now,
        last_seen=now,
    )
    baseline = EndpointBaseline.objects.create(service="shop", endpoint="payment")
    channel = Channel.objects.create(
        name="c", kind="webhook", url="http://127.0.0.1:9/x"
    )
    silence = Silence.objects.create(
        starts_at=now,
        ends_at=now + timezone.timedelta(hours=1),
        created_by="x",
        reason="r",
    )
    notification = Notification.objects.create(
        incident=incident,
        channel=channel,
        event="opened",
        severity="high",
        status="silenced",
        next_attempt_at=now,
        created_at=now,
    )
    change = Change.objects.create(
        service="shop", version="2", at=now, source="api", recorded_by="x"
    )
    return {
        "change-detail": f"/aiops/changes/{change.pk}",
        "incident-detail": f"/aiops/incidents/{incident.public_id}",
        "incident-acknowledge": f"/aiops/incidents/{incident.public_id}/acknowledge",
        "incident-resolve": f"/aiops/incidents/{incident.public_id}/resolve",
        "anomaly-detail": f"/aiops/anomalies/{anomaly.pk}",
        "baseline-detail": f"/aiops/baselines/{baseline.pk}",
        "channel-detail": f"/aiops/channels/{channel.pk}",
        "silence-detail": f"/aiops/silences/{silence.pk}",
        "notification-detail": f"/aiops/notifications/{notification.pk}",
        "dashboard:incident": f"/aiops/dashboard/incidents/{incident.public_id}",
        "dashboard:acknowledge": f"/aiops/dashboard/incidents/{incident.public_id}"
        "/acknowledge",
        "dashboard:resolve": f"/aiops/dashboard/incidents/{incident.public_id}/resolve",
        "dashboard:endpoint": "/aiops/dashboard/endpoint?service=shop&endpoint=payment",
    }


PLAIN = {
    "health": "/health",
    "checkout": "/checkout",
    "payment": "/payment",
    "inventory": "/inventory",
    "favicon": "/favicon.ico",
    "otlp-traces": "/v1/traces",
    "front-door": "/",
    "healthz": "/healthz",
    "healthz-analysis": "/healthz/analysis",
    "simulate-status": "/simulate/status",
    "simulate-delay": "/simulate/delay",
    "simulate-error": "/simulate/error",
    "simulate-clear": "/simulate/clear",
    "api-root": "/aiops/",
    "schema": "/aiops/schema/",
    "api-docs": "/aiops/docs/",
    "incident-list": "/aiops/incidents",
    "anomaly-list": "/aiops/anomalies",
    "baseline-list": "/aiops/baselines",
    "metrics": "/aiops/metrics",
    "services": "/aiops/services",
    "dependencies": "/aiops/dependencies",
    "analyze-list": "/aiops/analyze",
    "channel-list": "/aiops/channels",
    "change-list": "/aiops/changes",
    "silence-list": "/aiops/silences",
    "notification-list": "/aiops/notifications",
    "prometheus-metrics": "/metrics",
    "dashboard:overview": "/aiops/dashboard/",
    "dashboard:incidents": "/aiops/dashboard/incidents",
    "dashboard:map": "/aiops/dashboard/map",
}


def clients() -> dict[str, APIClient]:
    user, staff = make_user("viewer"), make_user("operator", staff=True)
    session_user, session_staff = APIClient(), APIClient()
    session_user.force_login(user)
    session_staff.force_login(staff)
    return {
        ANON: [APIClient()],
        USER: [token_client(user), session_user],
        STAFF: [token_client(staff), session_staff],
    }


def denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and "/admin/login/" in response.get(
        "Location", ""
    )


@pytest.mark.parametrize("name", sorted(RULES))
def test_access_rule_holds(name, objects, settings):
    settings.AIOPS_DEMO_BASE_URL = "http://127.0.0.1:9"  # checkout must not go anywhere
    url = PLAIN.get(name) or objects[name]
    read, write = RULES[name]
    who = clients()
    for level, users in who.items():
        for client in users:
            if (
                name.startswith("dashboard:")
                and "HTTP_AUTHORIZATION" in client._credentials
            ):
                continue  # people's pages take a browser session, not API tokens
            client.raise_request_exception = False
            if read is not None:
                response = client.get(url)
                assert denied(response) == (RANK[level] < RANK[read]), (
                    name,
                    level,
                    "GET",
                    response.status_code,
                )
            if write is not None:
                response = client.post(url, {}, format="json")
                assert denied(response) == (RANK[level] < RANK[write]), (
                    name,
                    level,
                    "POST",
                    response.status_code,
                )


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/detection/incident/", "/admin/auth/user/"]
)
def test_admin_is_staff_only(path):
    from django.contrib.auth import get_user_model

    who = clients()
    for client in who[ANON] + who[USER][1:]:
        assert denied(client.get(path))
    # Within the admin, Django's model permissions apply on top of is_staff.
    admin = APIClient()
    root = get_user_model().objects.create_superuser("root", "r@x.org", "pw")
    admin.force_login(root)
    assert admin.get(path).status_code == 200


def test_public_read_opens_reads_only(settings, objects):
    settings.AIOPS_PUBLIC_READ = True
    anonymous = APIClient()

    assert anonymous.get("/aiops/incidents").status_code == 200
    assert anonymous.get("/metrics").status_code == 200
    assert denied(anonymous.post("/aiops/analyze"))
    assert denied(anonymous.post(objects["incident-acknowledge"]))
