"""Notifications: recorded with the incident change, delivered by a task.

The outbox pattern: the analysis cycle (or an operator's action) only writes
Notification rows, in the same transaction as the incident change, and asks for a
dispatch once that transaction commits. The dispatch task claims due rows with a
conditional UPDATE (so two workers never send the same one), sends them with a
timeout, and reschedules failures with exponential backoff. A slow, failing or
hanging receiver therefore never holds up detection, nor other channels for long.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q

from aiops.conf import settings
from aiops.detection.models import Incident, IncidentStatus
from aiops.detection.storms import is_storm
from aiops.notifications.delivery import post_json
from aiops.notifications.models import (
    MAX_REPEAT,
    MIN_REPEAT,
    Channel,
    DeliveryAttempt,
    Notification,
    Silence,
)
from aiops.notifications.payloads import build

logger = logging.getLogger(__name__)

Event = Notification.Event
Status = Notification.Status
FIRING = (Event.OPENED, Event.ESCALATED, Event.REPEATED)
MAX_BACKOFF = 3600.0


def _sent_before(incident: Incident, channel: Channel) -> bool:
    return (
        Notification.objects.filter(
            incident=incident, channel=channel, event__in=FIRING
        )
        .exclude(status__in=[Status.SILENCED, Status.SUPPRESSED])
        .exists()
    )


def record_events(events: Iterable[tuple[Incident, str]], *, now: datetime) -> int:
    """Notifications for incident events; call inside the changing transaction."""
    events = list(events)
    if not events:
        return 0
    channels = list(Channel.objects.filter(enabled=True))
    silences = list(Silence.objects.active(now))
    sent = _recently_sent(now)
    cap = settings.AIOPS_NOTIFY_MAX_PER_CHANNEL
    created = []
    for incident, event in events:
        silenced = any(silence.matches(incident) for silence in silences)
        for channel in channels:
            if not channel.wants(incident):
                continue
            if event == Event.ACKNOWLEDGED and channel.kind != Channel.Kind.PAGERDUTY:
                continue  # only PagerDuty has an acknowledged state to mirror
            if event in (Event.RESOLVED, Event.ACKNOWLEDGED) and not _sent_before(
                incident, channel
            ):
                continue  # nothing was said about it: nothing to take back
            status = Status.SILENCED if silenced else Status.PENDING
            if status == Status.PENDING:
                # A storm of events gets a channel's cap of messages; the rest
                # are kept (and listed) but not sent. The storm incident itself,
                # which names them all, always goes out.
                if sent[channel.pk] >= cap and not is_storm(incident):
                    status = Status.SUPPRESSED
                else:
                    sent[channel.pk] += 1
            created.append(
                Notification(
                    incident=incident,
                    channel=channel,
                    event=event,
                    severity=incident.severity,
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(created)
    if any(n.status == Status.PENDING for n in created):
        transaction.on_commit(request_dispatch)
    return len(created)


def _recently_sent(now: datetime) -> dict[int, int]:
    """Per channel: notifications meant to go out within the storm window."""
    since = now - timedelta(seconds=settings.AIOPS_STORM_WINDOW)
    counts = (
        Notification.objects.filter(created_at__gt=since)
        .exclude(status__in=[Status.SILENCED, Status.SUPPRESSED])
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    return defaultdict(int, dict(counts))


def request_dispatch() -> None:
    from django_q.tasks import async_task

    async_task("aiops.notifications.tasks.dispatch", group="aiops-notifications")


def _schedule_repeats(now: datetime) -> None:
    """Reminders for open, unacknowledged incidents nobody has answered."""
    latest: dict[tuple[int, int], datetime] = {}
    for incident_id, channel_id, created in (
        Notification.objects.filter(
            incident__status=IncidentStatus.OPEN, event__in=FIRING
        )
        .exclude(status=Status.SILENCED)
        .values_list("incident_id", "channel_id", "created_at")
    ):
        key = (incident_id, channel_id)
        latest[key] = max(created, latest.get(key, created))
    if not latest:
        return
    channels = {c.pk: c for c in Channel.objects.filter(enabled=True)}
    incidents = Incident.objects.in_bulk({incident for incident, _ in latest})
    silences = list(Silence.objects.active(now))
    due = []
    for (incident_id, channel_id), created in latest.items():
        channel, incident = channels.get(channel_id), incidents[incident_id]
        if channel is None:
            continue
        # Bounded again here: a channel stored with an absurd interval before the
        # bound existed must not break every channel's reminders.
        repeat = min(max(channel.repeat_interval, MIN_REPEAT), MAX_REPEAT)
        if now - created < timedelta(seconds=repeat):
            continue
        if any(silence.matches(incident) for silence in silences):
            continue
        due.append(
            Notification(
                incident=incident,
                channel=channel,
                event=Event.REPEATED,
                severity=incident.severity,
                next_attempt_at=now,
                created_at=now,
            )
        )
    Notification.objects.bulk_create(due)


def _claim(now: datetime, limit: int) -> list[int]:
    due = (
        Notification.objects.filter(
            Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.SENDING, claimed_until__lt=now)  # its sender died
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    claimed = []
    hold = now + timedelta(seconds=4 * settings.AIOPS_NOTIFY_TIMEOUT + 30)
    for pk in list(due):
        # Conditional UPDATE: of two dispatchers, only one gets the row.
        if Notification.objects.filter(
            Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_until__lt=now),
            pk=pk,
        ).update(status=Status.SENDING, claimed_until=hold):
            claimed.append(pk)
    return claimed


def _backoff(attempts: int, retry_after: float | None) -> float:
    delay = settings.AIOPS_NOTIFY_BACKOFF * 2 ** (attempts - 1)
    return min(max(delay, retry_after or 0.0), MAX_BACKOFF)


def deliver(notification: Notification, *, now: datetime) -> str:
    """Send one claimed notification; returns the outcome."""
    answer = post_json(notification.channel.url, build(notification), now=now)
    notification.attempts += 1
    notification.last_status_code = answer.status
    notification.last_error = answer.error[:300]
    if answer.ok:
        outcome = "sent"
        notification.status, notification.sent_at = Status.SENT, now
    elif (
        answer.worth_retrying
        and notification.attempts < settings.AIOPS_NOTIFY_MAX_ATTEMPTS
    ):
        outcome = "retry"
        notification.status = Status.PENDING
        notification.next_attempt_at = now + timedelta(
            seconds=_backoff(notification.attempts, answer.retry_after)
        )
    else:
        outcome = "gave_up"
        notification.status = Status.GAVE_UP
        logger.warning(
            "Gave up on %s to channel %s: %s",
            notification.incident.public_id,
            notification.channel.name,
            answer.error or answer.status,
        )
    notification.claimed_until = None
    notification.save()
    DeliveryAttempt.objects.create(
        notification=notification,
        at=now,
        status_code=answer.status,
        latency_ms=answer.latency_ms,
        error=answer.error[:300],
        outcome=outcome,
    )
    return outcome


def dispatch_due(*, now: datetime, clock=None, limit: int = 100) -> dict[str, int]:
    """Send what is due (reminders included). ``clock`` gives the time of each send."""
    _schedule_repeats(now)
    outcomes: dict[str, int] = {}
    for pk in _claim(now, limit):
        notification = Notification.objects.select_related("incident", "channel").get(
            pk=pk
        )
        outcome = deliver(notification, now=clock() if clock else now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
