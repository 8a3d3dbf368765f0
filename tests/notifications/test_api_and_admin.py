from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from aiops.notifications.models import Channel, Silence

pytestmark = pytest.mark.django_db
SLACK = "https://hooks.slack.com/services/T0001/B0002/abcdefghSECRETxyz1"


def test_channels_crud_with_secrets_write_only(staff_client):
    created = staff_client.post(
        "/aiops/channels",
        {
            "name": "ops",
            "kind": "slack",
            "url": SLACK,
            "min_severity": "high",
            "services": ["shop"],
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert "url" not in body and "SECRET" not in str(body)
    assert body["url_masked"] == "https://hooks.slack.com/…xyz1"
    listing = staff_client.get("/aiops/channels").json()
    assert "SECRET" not in str(listing)
    assert Channel.objects.get().url == SLACK


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "pd", "kind": "pagerduty"}, "routing_key"),
        ({"name": "hook", "kind": "webhook"}, "url"),
        ({"name": "hook", "kind": "webhook", "url": "ftp://x"}, "url"),
        ({"name": "hook", "kind": "teams", "url": SLACK}, "kind"),
        (
            {"name": "hook", "kind": "slack", "url": SLACK, "services": "shop"},
            "services",
        ),
        (
            {"name": "hook", "kind": "slack", "url": SLACK, "repeat_interval": 5},
            "repeat_interval",
        ),
        (
            {"name": "hook", "kind": "slack", "url": SLACK, "min_severity": "urgent"},
            "min_severity",
        ),
    ],
)
def test_bad_channels_are_400_naming_the_field(staff_client, data, field):
    response = staff_client.post("/aiops/channels", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Channel.objects.count() == 0


def test_pagerduty_defaults_to_the_events_api(staff_client):
    staff_client.post(
        "/aiops/channels",
        {"name": "pd", "kind": "pagerduty", "routing_key": "abc" * 10},
        format="json",
    )

    assert Channel.objects.get().url == "https://events.pagerduty.com/v2/enqueue"


def test_silences_need_a_reason_and_an_end_after_the_start(staff_client):
    ok = staff_client.post(
        "/aiops/silences",
        {"service": "shop", "ends_at": "2099-01-01T00:00:00Z", "reason": "migration"},
        format="json",
    )
    backwards = staff_client.post(
        "/aiops/silences",
        {
            "starts_at": "2030-01-02T00:00:00Z",
            "ends_at": "2030-01-01T00:00:00Z",
            "reason": "x",
        },
        format="json",
    )
    no_reason = staff_client.post(
        "/aiops/silences",
        {"ends_at": "2099-01-01T00:00:00Z", "reason": " "},
        format="json",
    )

    assert ok.status_code == 201 and ok.json()["created_by"] == "operator"
    assert ok.json()["active"] is True
    assert backwards.status_code == 400 and "ends_at" in backwards.json()
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert Silence.objects.count() == 1


def test_writes_need_staff(user_client):
    assert APIClient().get("/aiops/channels").status_code == 401
    assert user_client.get("/aiops/channels").status_code == 200
    denied = user_client.post(
        "/aiops/channels", {"name": "x", "kind": "slack", "url": SLACK}, format="json"
    )
    assert denied.status_code == 403


def test_admin_list_masks_and_the_form_never_renders_secrets(client):
    Channel.objects.create(name="ops", kind="slack", url=SLACK)
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client.force_login(admin)
    channel = Channel.objects.get()

    listing = client.get("/admin/notifications/channel/")
    form = client.get(f"/admin/notifications/channel/{channel.pk}/change/")
    saved = client.post(
        f"/admin/notifications/channel/{channel.pk}/change/",
        {
            "name": "ops-renamed",
            "kind": "slack",
            "url": "",
            "routing_key": "",
            "enabled": "on",
            "services": "[]",
            "endpoints": "[]",
            "min_severity": "low",
            "repeat_interval": "14400",
        },
    )

    assert b"SECRET" not in listing.content and "…xyz1" in listing.content.decode()
    assert b"SECRET" not in form.content
    assert saved.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "ops-renamed" and channel.url == SLACK  # blank kept it
