from __future__ import annotations

from datetime import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from aiops.detection.models import SEVERITY_RANK, Incident, Severity

# Reminder intervals: at least a minute, at most 30 days (a larger one overflows
# date arithmetic, and would have failed every dispatch, for every channel).
MIN_REPEAT = 60
MAX_REPEAT = 30 * 86_400


def mask(secret: str) -> str:
    """Enough of a secret to recognise it, never enough to use it."""
    if not secret:
        return ""
    if "://" in secret:
        scheme, rest = secret.split("://", 1)
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        return f"{scheme}://{host}/…{secret[-4:]}" if len(secret) > 12 else "…"
    return f"…{secret[-4:]}" if len(secret) > 8 else "…"


class Channel(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (Alertmanager format)"
        SLACK = "slack", "Slack incoming webhook"
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The webhook or Slack URL (itself a secret), or PagerDuty's events endpoint.
    url = models.URLField(max_length=500)
    routing_key = models.CharField(max_length=100, blank=True, help_text="PagerDuty")
    enabled = models.BooleanField(default=True)
    # Empty lists match everything.
    services = models.JSONField(default=list, blank=True)
    endpoints = models.JSONField(default=list, blank=True)
    min_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.LOW
    )
    repeat_interval = models.PositiveIntegerField(
        default=4 * 3600,
        validators=[MinValueValidator(MIN_REPEAT), MaxValueValidator(MAX_REPEAT)],
        help_text="Seconds between reminders of an unacknowledged incident "
        "(a minute to 30 days).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def masked_url(self) -> str:
        return mask(self.url)

    @property
    def masked_routing_key(self) -> str:
        return mask(self.routing_key)

    def wants(self, incident: Incident) -> bool:
        if not self.enabled:
            return False
        if SEVERITY_RANK[incident.severity] < SEVERITY_RANK[self.min_severity]:
            return False
        touched = [(s, e) for s, e in incident.affected] or [
            (incident.root_service, incident.root_endpoint)
        ]
        if self.services and not any(s in self.services for s, _ in touched):
            return False
        if self.endpoints and not any(e in self.endpoints for _, e in touched):
            return False
        return True


class SilenceQuerySet(models.QuerySet):
    def active(self, at: datetime):
        return self.filter(starts_at__lte=at, ends_at__gt=at)


class Silence(models.Model):
    """A maintenance window: matching incidents are recorded but not sent."""

    service = models.CharField(
        max_length=100, blank=True, help_text="Blank: any service."
    )
    endpoint = models.CharField(
        max_length=200, blank=True, help_text="Blank: any endpoint."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="silence_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        scope = f"{self.service or '*'}/{self.endpoint or '*'}"
        return f"{scope} until {self.ends_at:%Y-%m-%d %H:%M}"

    def matches(self, incident: Incident) -> bool:
        """The incident's root or any endpoint it affects is covered."""
        touched = [(s, e) for s, e in incident.affected] + [
            (incident.root_service, incident.root_endpoint)
        ]
        return any(
            (not self.service or self.service == s)
            and (not self.endpoint or self.endpoint == e)
            for s, e in touched
        )


class Notification(models.Model):
    """One message about one incident event to one channel, and its delivery."""

    class Event(models.TextChoices):
        OPENED = "opened", "Opened"
        ESCALATED = "escalated", "Severity escalated"
        REPEATED = "repeated", "Reminder"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SILENCED = "silenced", "Silenced"
        # Over the channel's cap (AIOPS_NOTIFY_MAX_PER_CHANNEL): recorded, not sent.
        SUPPRESSED = "suppressed", "Suppressed (storm)"
        GAVE_UP = "gave_up", "Gave up"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=12, choices=Event.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"], name="notification_due_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.public_id} {self.event} -> {self.channel.name}"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField()
    error = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=10)  # sent | retry | gave_up

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome} {self.status_code}"
