"""Dashboard pages through the test client (the browser test covers the rest)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from aiops.detection.models import Incident
from tests.conftest import make_user
from tests.detection.traffic import Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    """Recent traffic, so that "now" ranges include it."""
    now = timezone.now().timestamp()
    store(shop_traffic(now - 1200, 900, seed=1))
    store(shop_traffic(now - 300, 240, fault=Fault(payment_delay_ms=1500), seed=2))
    run_cycles(now - 1200, now)
    return Incident.objects.get()


@pytest.fixture
def staff(client):
    client.force_login(make_user("operator", staff=True))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/aiops/dashboard/",
        "/aiops/dashboard/incidents",
        "/aiops/dashboard/map",
        "/aiops/dashboard/endpoint?service=shop&endpoint=payment",
    ],
)
def test_pages_need_a_login(client, path):
    response = client.get(path)

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_overview_lists_endpoints_and_open_incidents(staff, incident):
    page = staff.get("/aiops/dashboard/").content.decode()

    assert incident.public_id in page
    assert "shop/payment" in page
    assert page.count('class="endpoint-row"') == 3
    assert '<span class="health failing">' in page or "degraded" in page


def test_endpoint_charts_draw_points_and_mark_the_anomaly(staff, incident):
    page = staff.get(
        "/aiops/dashboard/endpoint?service=shop&endpoint=payment&range=1h"
    ).content.decode()

    assert page.count("<svg") == 3
    assert len(re.findall(r'<circle class="point p50"', page)) > 10
    assert '<polygon class="band"' in page  # the learned baseline band
    assert f"{incident.public_id}:" in page  # the anomaly's shaded stretch
    assert (
        staff.get("/aiops/dashboard/endpoint?service=shop&endpoint=nope").status_code
        == 404
    )
    week = staff.get("/aiops/dashboard/endpoint?service=shop&endpoint=payment&range=7d")
    assert week.status_code == 200


def test_incident_page_with_evidence_waterfall_and_timeline(staff, incident):
    page = staff.get(
        f"/aiops/dashboard/incidents/{incident.public_id}"
    ).content.decode()

    assert incident.root_issue in page
    assert '<svg class="waterfall"' in page and 'class="span' in page
    assert "shop: payment" in page and "shop: checkout" in page
    assert "Opened:" in page and "Latency anomaly on shop/payment" in page
    assert 'id="acknowledge"' in page and "csrfmiddlewaretoken" in page


def test_acknowledge_and_resolve_from_the_page_with_csrf(incident):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("operator", staff=True))
    url = f"/aiops/dashboard/incidents/{incident.public_id}"
    page = browser.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    forged = browser.post(f"{url}/acknowledge", {"note": "x"})
    acked = browser.post(
        f"{url}/acknowledge",
        {"note": "on it", "csrfmiddlewaretoken": token},
        follow=True,
    )
    resolved = browser.post(
        f"{url}/resolve", {"csrfmiddlewaretoken": token}, follow=True
    )

    assert forged.status_code == 403
    assert f"{incident.public_id} acknowledged." in acked.content.decode()
    assert f"{incident.public_id} resolved." in resolved.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.acknowledgment_note == "on it"
    assert incident.acknowledged_by == "operator"


def test_only_staff_may_act(client, incident):
    client.force_login(make_user("viewer"))
    url = f"/aiops/dashboard/incidents/{incident.public_id}"

    page = client.get(url).content.decode()
    response = client.post(f"{url}/acknowledge")

    assert 'id="acknowledge"' not in page
    assert response.status_code == 302  # to the login page, nothing changed
    incident.refresh_from_db()
    assert incident.status == "open"


def test_service_map_and_empty_states(staff):
    empty = staff.get("/aiops/dashboard/").content.decode()
    assert "Nothing learned yet" in empty

    now = timezone.now()
    store(shop_traffic((now - timedelta(minutes=10)).timestamp(), 300, seed=5))
    run_cycles((now - timedelta(minutes=10)).timestamp(), now.timestamp())
    map_page = staff.get("/aiops/dashboard/map").content.decode()
    assert '<svg class="service-map"' in map_page and "shop" in map_page


def test_linked_from_the_admin_and_the_api_root(staff):
    admin = staff.get("/admin/").content.decode()
    root = staff.get("/aiops/", HTTP_ACCEPT="application/json").json()

    assert 'href="/aiops/dashboard/"' in admin
    assert root["dashboard"].endswith("/aiops/dashboard/")


def test_charts_have_visible_titles_units_and_baseline(staff, incident):
    page = staff.get(
        "/aiops/dashboard/endpoint?service=shop&endpoint=payment&range=1h"
    ).content.decode()

    captions = re.findall(r'<figcaption class="chart-title">([^<]+)<span', page)
    assert len(captions) == 3 and all(c.strip() for c in captions)
    for unit in ("(milliseconds)", "(percent of requests)", "(per second)"):
        assert unit in page
    assert 'class="baseline"' in page


def test_trace_links_say_when_where_and_how_long(staff, incident):
    page = staff.get(
        f"/aiops/dashboard/incidents/{incident.public_id}"
    ).content.decode()

    links = re.findall(
        r'<a href="\?trace=[0-9a-f]+" title="[0-9a-f]+">([^<]+)</a>', page
    )
    assert links
    assert all(re.match(r"\d\d:\d\d:\d\d shop/checkout \d+ ms", link) for link in links)


def test_an_incident_without_traces_says_so(staff):
    now = timezone.now()
    item = Incident.objects.create(
        public_id="INC-1-1",
        fingerprint="shop/payment#latency",
        title="No responses",
        severity="high",
        root_service="shop",
        root_endpoint="payment",
        root_issue="x",
        first_detected=now,
        last_seen=now,
    )

    page = staff.get(f"/aiops/dashboard/incidents/{item.public_id}").content.decode()

    assert "No example trace" in page
    assert "No spans of this trace are stored" not in page


def test_the_map_draws_calls_between_endpoints_of_one_service(staff, incident):
    page = staff.get("/aiops/dashboard/map").content.decode()

    assert "<h2>Endpoints</h2>" in page
    assert page.count('class="edge') >= 2  # checkout -> payment, checkout -> inventory


def test_a_change_is_marked_on_the_charts_and_in_the_timeline(staff):
    from aiops.changes.recording import ChangeInput, record_change

    now = timezone.now()
    store(shop_traffic(now.timestamp() - 1200, 900, seed=1))
    fault = Fault(payment_delay_ms=1500)
    store(shop_traffic(now.timestamp() - 300, 240, fault=fault, seed=2))
    record_change(
        ChangeInput(service="shop", kind="config", note="payment timeout 1 s -> 5 s"),
        source="api",
        by="pipeline",
        now=now - timedelta(seconds=301),
    )
    run_cycles(now.timestamp() - 1200, now.timestamp())
    incident = Incident.objects.get()

    charts = staff.get(
        "/aiops/dashboard/endpoint?service=shop&endpoint=payment&range=1h"
    ).content.decode()
    page = staff.get(
        f"/aiops/dashboard/incidents/{incident.public_id}"
    ).content.decode()

    assert charts.count('<line class="change"') == 3  # one per chart
    assert "shop configuration changed: payment timeout 1 s -&gt; 5 s" in charts
    assert "Change blamed" in page
    assert "slow requests on shop started" in page


@pytest.mark.urls("tests.urls")
def test_an_n_plus_one_incident_shows_its_queries_in_the_trace(staff):
    from django.core.management import call_command

    from aiops.telemetry.models import Span

    for _ in range(5):
        staff.get("/n-plus-one")
    span = Span.objects.order_by("-start_time").first()
    later = span.start_time + timedelta(seconds=1)
    call_command("run_analysis", at=later.isoformat(), stdout=io.StringIO())
    incident = Incident.objects.get(kind="queries")

    page = staff.get(
        f"/aiops/dashboard/incidents/{incident.public_id}?trace={span.trace_id}"
    ).content.decode()

    assert "N+1 queries in n-plus-one" in page
    assert "database: 21 queries" in page
    assert "20 x SELECT ... FROM django_content_type" in page
