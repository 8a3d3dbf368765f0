from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from aiops.detection.models import Incident
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def incidents() -> list[Incident]:
    store(shop_traffic(T0, 600, seed=1))
    store(
        shop_traffic(
            T0 + 600,
            120,
            fault=Fault(payment_delay_ms=2000, inventory_error_rate=0.6),
            seed=2,
        )
    )
    run_cycles(T0, T0 + 660)
    found = list(Incident.objects.all())
    assert len(found) == 2
    return found


def test_changelist_with_filters_search_and_inline_anomalies(admin_client, incidents):
    listing = admin_client.get(
        "/admin/detection/incident/?status=open&severity=critical"
    )
    search = admin_client.get("/admin/detection/incident/?q=inventory")
    detail = admin_client.get(f"/admin/detection/incident/{incidents[0].pk}/change/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert search.context["cl"].result_count == 1
    assert detail.status_code == 200
    assert b"latency_anomaly" in detail.content or b"error_spike" in detail.content


def test_bulk_acknowledge_and_resolve_report_counts(admin_client, incidents):
    ids = [i.pk for i in incidents]
    incidents[0].resolve(by="x", at=incidents[0].last_seen)

    ack = admin_client.post(
        "/admin/detection/incident/",
        {"action": "acknowledge", "_selected_action": ids},
        follow=True,
    )
    resolve = admin_client.post(
        "/admin/detection/incident/",
        {"action": "resolve", "_selected_action": ids},
        follow=True,
    )

    ack_message = [str(m) for m in ack.context["messages"]]
    assert ack_message == [
        "1 incident(s) acknowledged. 1 left as they were (already acknowledged or "
        "resolved)."
    ]
    assert "1 incident(s) resolved." in [str(m) for m in resolve.context["messages"]][0]
    statuses = set(Incident.objects.values_list("status", flat=True))
    assert statuses == {"resolved"}
    assert Incident.objects.filter(acknowledged_by="root").count() == 1


def test_baselines_are_read_only(admin_client, incidents):
    listing = admin_client.get("/admin/detection/endpointbaseline/")
    add = admin_client.get("/admin/detection/endpointbaseline/add/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 3
    assert add.status_code == 403


def test_incident_page_reads_like_a_report_and_acts_with_a_note(
    admin_client, incidents
):
    incident = incidents[0]
    url = f"/admin/detection/incident/{incident.pk}/change/"

    page = admin_client.get(url).content.decode()

    assert 'name="_save"' not in page  # nothing to edit, nothing to save
    assert "Share of the evidence" in page and "Affected now" in page
    assert "<pre>" not in page and '"shop\\t' not in page  # no raw JSON
    assert incident.first_detected.strftime("%Y-%m-%d %H:%M:%S UTC") in page
    assert f"/aiops/dashboard/incidents/{incident.public_id}" in page
    assert 'id="acknowledge"' in page and 'id="resolve"' in page

    admin_client.post(
        f"/admin/detection/incident/{incident.pk}/acknowledge/",
        {"note": "on it"},
    )
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledgment_note) == ("acknowledged", "on it")
    assert (
        admin_client.get(
            f"/admin/detection/incident/{incident.pk}/resolve/"
        ).status_code
        == 405
    )


def test_changelist_has_badges_and_short_titles(admin_client, incidents):
    page = admin_client.get("/admin/detection/incident/").content.decode()

    assert "border-radius:9px" in page  # status and severity badges
    index = admin_client.get("/admin/").content.decode()
    assert "Open incidents" in index and "/aiops/dashboard/" in index
