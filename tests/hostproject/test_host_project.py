"""The product inside someone else's project: ASGI with async views, the host's
own REST framework settings, and the one-line URL include."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from aiops.telemetry.models import Span
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def host(settings):
    settings.ROOT_URLCONF = "tests.hostproject.urls"
    settings.AIOPS_SERVICE_NAME = "hostsite"
    settings.LOGIN_URL = "/accounts/login/"  # Django's default; no admin mounted


def test_async_views_under_asgi_are_recorded(host):
    """Through Django's ASGI handler (what uvicorn or daphne call)."""

    async def requests() -> list[int]:
        client = AsyncClient(raise_request_exception=False)
        return [
            (await client.get(path)).status_code
            for path in ("/hello/async", "/hello/sync", "/hello/async-boom")
        ]

    assert async_to_sync(requests)() == [200, 200, 500]
    spans = {s.endpoint: s for s in Span.objects.all()}
    assert spans["async-hello"].status_code == 200
    assert spans["async-hello"].duration_ms >= 5
    assert spans["async-hello"].service == "hostsite"
    assert spans["sync-hello"].status_code == 200
    boom = spans["async-boom"]
    assert (boom.status_code, boom.is_error, boom.error_type) == (
        500,
        True,
        "ValueError",
    )


def test_the_api_keeps_its_rules_whatever_the_hosts_rest_framework_says(
    host, settings, client
):
    # A host that opens everything to everyone by default, and parses only forms.
    settings.REST_FRAMEWORK = {
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.FormParser"],
        "PAGE_SIZE": 1,
    }
    settings.AIOPS_DEV_OPEN_LOOPBACK = False
    answer = client.get("/aiops/incidents")
    assert answer.status_code == 401  # still needs a user
    assert client.post("/aiops/analyze").status_code == 401

    viewer = make_user("viewer")
    client.force_login(viewer)
    assert client.get("/aiops/incidents").status_code == 200
    assert client.post("/aiops/analyze").status_code == 403  # writes need staff
    staff = make_user("ops", staff=True)
    client.force_login(staff)
    bad = client.post(
        "/aiops/changes", data="{not json", content_type="application/json"
    )
    assert bad.status_code == 400  # our JSON parser and our error format
    assert "detail" in bad.json() or "error" in bad.json()
    assert client.get("/aiops/baselines").json()["results"] == []


def test_the_root_lists_what_the_host_mounted(host, client):
    client.force_login(make_user("ops", staff=True))
    root = client.get("/aiops/").json()
    assert root["dashboard"].endswith("/aiops/dashboard/")
    assert "incidents" in root
    assert "docs" not in root  # the site's API docs are not part of aiops.urls


def test_the_dashboard_works_under_the_hosts_prefix(host, client):
    first = client.get("/aiops/dashboard/")
    assert first.status_code == 302
    assert first["Location"].startswith("/accounts/login/?next=")  # the host's page
    client.force_login(make_user("ops", staff=True))
    for page in ("", "incidents", "map"):
        answer = client.get(f"/aiops/dashboard/{page}")
        assert answer.status_code == 200, page
        assert b"/aiops/dashboard/" in answer.content
