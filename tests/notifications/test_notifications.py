"""Notifications end to end: incidents from real cycles, a real HTTP receiver."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from aiops.changes.recording import ChangeInput, record_change
from aiops.detection.actions import incident_acknowledge, incident_resolve
from aiops.detection.models import Incident
from aiops.notifications.models import Channel, Notification, Silence
from aiops.notifications.services import dispatch_due
from tests.detection.traffic import T0, Fault, run_cycles, shop_traffic, store

pytestmark = pytest.mark.django_db
FAULT_AT = T0 + 600


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def channel(receiver, kind="webhook", **fields) -> Channel:
    values = dict(
        name=f"{kind}-{len(receiver.requests)}-{Channel.objects.count()}",
        kind=kind,
        url=receiver.url(f"/{kind}"),
    )
    if kind == "pagerduty":
        values["routing_key"] = "R0UT1NGK3Y0000000000000000000000"
    values.update(fields)
    return Channel.objects.create(**values)


INVENTORY_ERRORS = Fault(inventory_error_rate=0.9)


def incident_from_traffic(fault=INVENTORY_ERRORS, seconds=120, until=660):
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(FAULT_AT, seconds, fault=fault, seed=2))
    store(shop_traffic(FAULT_AT + seconds, 1800, seed=3))  # healthy again after
    run_cycles(T0, T0 + until)
    return Incident.objects.get()


def events() -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.order_by("id").values_list(
            "channel__kind", "event", "status"
        )
    )


def test_webhook_is_alertmanager_shaped_firing_then_resolved(receiver):
    channel(receiver)
    incident = incident_from_traffic(until=1000)  # fault ends at 720: it heals

    dispatch_due(now=at(1001))

    firing, resolved = receiver.bodies()
    assert firing["groupKey"] == incident.public_id
    assert firing["status"] == "firing" and resolved["status"] == "resolved"
    assert firing["version"] == "4" and firing["receiver"].startswith("webhook")
    alert = firing["alerts"][0]
    assert alert["labels"] == {
        "alertname": "AIOpsIncident",
        "incident": incident.public_id,
        "service": "shop",
        "endpoint": "inventory",
        "severity": "critical",
    }
    assert alert["annotations"]["summary"] == incident.title
    assert alert["startsAt"] == incident.first_detected.isoformat()
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert resolved["alerts"][0]["endsAt"] == incident.resolved_at.isoformat()
    assert alert["generatorURL"].endswith(f"/aiops/incidents/{incident.public_id}")
    assert receiver.requests[0]["headers"]["Content-Type"] == "application/json"


def test_slack_has_a_text_fallback_and_blocks(receiver):
    channel(receiver, "slack")
    incident = incident_from_traffic()

    dispatch_due(now=at(661))

    [message] = receiver.bodies()
    assert incident.public_id in message["text"] and "critical" in message["text"]
    flat = str(message["blocks"])
    for expected in (
        "critical",
        "shop/inventory",
        "checkout",
        incident.public_id,
        "Open the incident",
    ):
        assert expected in flat
    assert message["blocks"][0]["type"] == "header"


def test_pagerduty_follows_the_lifecycle_with_one_dedup_key(receiver):
    channel(receiver, "pagerduty")
    incident = incident_from_traffic()
    dispatch_due(now=at(661))
    incident_acknowledge(incident=incident, by="alice", now=at(700))
    dispatch_due(now=at(701))
    incident_resolve(incident=incident, by="alice", now=at(760))
    dispatch_due(now=at(761))

    trigger, acknowledge, resolve = receiver.bodies()
    assert [b["event_action"] for b in (trigger, acknowledge, resolve)] == [
        "trigger",
        "acknowledge",
        "resolve",
    ]
    assert {b["dedup_key"] for b in (trigger, acknowledge, resolve)} == {
        incident.public_id
    }
    assert trigger["routing_key"] == "R0UT1NGK3Y0000000000000000000000"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "shop"
    assert trigger["payload"]["component"] == "inventory"
    assert "payload" not in resolve


def test_one_notification_per_lifecycle_event(receiver):
    channel(receiver)
    # A third of payments fail (high), then nearly all (critical): it escalates.
    store(shop_traffic(T0, 600, seed=1))
    store(shop_traffic(FAULT_AT, 120, fault=Fault(payment_error_rate=0.35), seed=2))
    store(
        shop_traffic(FAULT_AT + 120, 120, seed=3, fault=Fault(payment_error_rate=0.9))
    )
    store(shop_traffic(FAULT_AT + 240, 600, seed=4))
    run_cycles(T0, T0 + 1440)
    dispatch_due(now=at(1441))

    assert Incident.objects.count() == 1
    assert events() == [
        ("webhook", "opened", "sent"),
        ("webhook", "escalated", "sent"),
        ("webhook", "resolved", "sent"),
    ]
    assert len(receiver.requests) == 3


def test_retry_with_backoff_then_success(receiver, settings):
    settings.AIOPS_NOTIFY_BACKOFF = 10
    receiver.replies = [503, (429, 0, {"Retry-After": "120"}), 200]
    channel(receiver)
    incident_from_traffic()

    first = dispatch_due(now=at(661))
    notification = Notification.objects.get()
    assert first == {"retry": 1}
    assert notification.next_attempt_at == at(671)  # 10 s, the first backoff
    assert dispatch_due(now=at(665)) == {}  # not due yet
    assert dispatch_due(now=at(671)) == {"retry": 1}
    notification.refresh_from_db()
    assert notification.next_attempt_at == at(791)  # Retry-After beats 20 s
    assert dispatch_due(now=at(791)) == {"sent": 1}

    notification.refresh_from_db()
    assert notification.status == "sent" and notification.attempts == 3
    outcomes = list(
        notification.delivery_attempts.values_list("status_code", "outcome")
    )
    assert outcomes == [(503, "retry"), (429, "retry"), (200, "sent")]


def test_gives_up_after_max_attempts_and_at_once_on_other_4xx(receiver, settings):
    settings.AIOPS_NOTIFY_BACKOFF = 0
    settings.AIOPS_NOTIFY_MAX_ATTEMPTS = 3
    receiver.replies = [500]
    failing = channel(receiver)
    incident_from_traffic()
    for second in (661, 662, 663, 664):
        dispatch_due(now=at(second))

    refused = channel(receiver, url=receiver.url("/gone"))
    receiver.replies = [404]
    Notification.objects.create(
        incident=Incident.objects.get(),
        channel=refused,
        event="opened",
        severity="critical",
        next_attempt_at=at(665),
        created_at=at(665),
    )
    dispatch_due(now=at(665))

    one = Notification.objects.get(channel=failing)
    other = Notification.objects.get(channel=refused)
    assert (one.status, one.attempts) == ("gave_up", 3)
    assert (other.status, other.attempts) == ("gave_up", 1)


def test_silence_records_but_does_not_send(receiver):
    channel(receiver)
    Silence.objects.create(
        service="shop",
        endpoint="inventory",
        starts_at=at(0),
        ends_at=at(3600),
        created_by="ops",
        reason="database migration",
    )
    incident = incident_from_traffic()

    dispatch_due(now=at(661))

    assert incident.status == "open"  # still recorded and shown
    assert events() == [("webhook", "opened", "silenced")]
    assert receiver.requests == []


def test_reminders_stop_when_acknowledged(receiver):
    channel(receiver, repeat_interval=120)
    incident = incident_from_traffic(seconds=600, until=660)
    dispatch_due(now=at(661))

    dispatch_due(now=at(700))  # too early for a reminder
    dispatch_due(now=at(782))  # 121 s after the first
    incident_acknowledge(incident=incident, by="bob", now=at(790))
    dispatch_due(now=at(1200))

    assert [e for _, e, _ in events()] == ["opened", "repeated"]


def test_a_channel_stored_with_an_absurd_interval_does_not_block_others(receiver):
    from django.db import connection

    good = channel(receiver, repeat_interval=120)
    bad = channel(receiver)
    # Stored before intervals were bounded (PostgreSQL's integer holds less).
    huge = 99_999_999_999_999 if connection.vendor == "sqlite" else 2_147_483_647
    Channel.objects.filter(pk=bad.pk).update(repeat_interval=huge)
    incident_from_traffic(seconds=600, until=660)
    dispatch_due(now=at(661))

    dispatch_due(now=at(782))

    reminders = Notification.objects.filter(event="repeated")
    assert list(reminders.values_list("channel", flat=True)) == [good.pk]


def test_channel_filters(receiver):
    channel(receiver, name="payments-team", services=["billing"])
    channel(receiver, name="critical-only", min_severity="critical")
    channel(receiver, name="inventory", endpoints=["inventory"])
    incident_from_traffic()

    names = set(Notification.objects.values_list("channel__name", flat=True))

    assert names == {"critical-only", "inventory"}


def test_a_hanging_receiver_does_not_stall_the_analysis_cycle(receiver, settings):
    settings.AIOPS_NOTIFY_TIMEOUT = 0.5
    receiver.replies = [(200, 3, {})]  # answers after 3 s
    channel(receiver)
    started = datetime.now(tz=UTC)
    incident_from_traffic()  # cycles only record notifications
    cycles_took = datetime.now(tz=UTC) - started

    outcome = dispatch_due(now=at(661))

    assert cycles_took < timedelta(seconds=20)
    assert outcome == {"retry": 1}
    attempt = Notification.objects.get().delivery_attempts.get()
    assert attempt.error in {"TimeoutError", "ReadTimeoutError"}
    assert attempt.latency_ms < 2000


def test_failures_never_log_the_secret_url(receiver, caplog, settings):
    settings.AIOPS_NOTIFY_MAX_ATTEMPTS = 1
    secret = receiver.url("/services/T000/B000/XXXXsecretXXXX")
    receiver.replies = [500]
    channel(receiver, "slack", url=secret)
    incident_from_traffic()

    with caplog.at_level(logging.DEBUG):
        dispatch_due(now=at(661))

    assert "XXXXsecretXXXX" not in caplog.text
    assert "XXXXsecretXXXX" not in str(
        list(Notification.objects.values_list("last_error", flat=True))
    )


def test_a_target_that_turned_out_local_is_refused_at_delivery(receiver, settings):
    channel(receiver)  # saved while its host was allowed
    settings.AIOPS_WEBHOOK_ALLOWED_HOSTS = []
    incident_from_traffic()

    dispatch_due(now=at(661))

    notification = Notification.objects.get()
    assert notification.status == "gave_up"
    assert notification.last_error.startswith("refused: 127.0.0.1 is a loopback")
    assert receiver.requests == []


def test_a_change_blamed_for_the_incident_travels_with_it(receiver):
    channel(receiver)
    channel(receiver, "slack")
    record_change(
        ChangeInput(service="shop", kind="config", note="inventory pool 20 -> 2"),
        source="api",
        by="pipeline",
        now=at(600),
    )
    incident = incident_from_traffic()

    dispatch_due(now=at(661))

    bodies = receiver.bodies()
    (webhook,) = [b for b in bodies if "alerts" in b]
    (slack,) = [b for b in bodies if "blocks" in b]
    change = webhook["alerts"][0]["annotations"]["change"]
    assert change == incident.evidence["change"]["summary"]
    assert change.startswith("errors on shop started")
    assert "after shop configuration changed: inventory pool 20 -&gt; 2" in str(
        slack["blocks"]
    )
