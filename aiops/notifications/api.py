"""Channels, silences and notifications over the API: parse, call, format."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers, viewsets

from aiops.api.base import AiopsAPIMixin
from aiops.detection.api.serializers import IsoDateTimeField
from aiops.notifications.models import (
    MAX_REPEAT,
    MIN_REPEAT,
    Channel,
    DeliveryAttempt,
    Notification,
    Silence,
)
from aiops.notifications.targets import refusal

PAGERDUTY_EVENTS = "https://events.pagerduty.com/v2/enqueue"


def _names(value, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise serializers.ValidationError(f"{field} must be a list of names")
    return value


class ChannelSerializer(serializers.ModelSerializer):
    """Secrets are write-only; reads show them masked."""

    url = serializers.URLField(
        write_only=True,
        required=False,
        max_length=500,
        help_text="Webhook or Slack URL; PagerDuty defaults to its Events API v2.",
    )
    routing_key = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=100
    )
    url_masked = serializers.CharField(source="masked_url", read_only=True)
    routing_key_masked = serializers.CharField(
        source="masked_routing_key", read_only=True
    )
    created_at = IsoDateTimeField(read_only=True)

    class Meta:
        model = Channel
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "url_masked",
            "routing_key",
            "routing_key_masked",
            "enabled",
            "services",
            "endpoints",
            "min_severity",
            "repeat_interval",
            "created_at",
        ]

    def validate_services(self, value):
        return _names(value, "services")

    def validate_endpoints(self, value):
        return _names(value, "endpoints")

    def validate_repeat_interval(self, value):
        if not MIN_REPEAT <= value <= MAX_REPEAT:
            raise serializers.ValidationError(
                f"repeat_interval must be {MIN_REPEAT} to {MAX_REPEAT} seconds "
                "(a minute to 30 days)"
            )
        return value

    def validate(self, data):
        kind = data.get("kind", getattr(self.instance, "kind", None))
        url = data.get("url", getattr(self.instance, "url", ""))
        if kind == Channel.Kind.PAGERDUTY:
            if not data.get("routing_key", getattr(self.instance, "routing_key", "")):
                message = "PagerDuty channels need the integration's routing key"
                raise serializers.ValidationError({"routing_key": message})
            data.setdefault("url", url or PAGERDUTY_EVENTS)
        elif not url:
            raise serializers.ValidationError({"url": "this channel kind needs a URL"})
        if "url" in data and (reason := refusal(data["url"], resolve=False)):
            raise serializers.ValidationError({"url": reason})
        return data


class SilenceSerializer(serializers.ModelSerializer):
    starts_at = IsoDateTimeField(required=False)
    ends_at = IsoDateTimeField()
    created_at = IsoDateTimeField(read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "service",
            "endpoint",
            "starts_at",
            "ends_at",
            "reason",
            "created_by",
            "created_at",
            "active",
        ]
        read_only_fields = ["created_by"]

    def get_active(self, silence: Silence) -> bool:
        return silence.starts_at <= timezone.now() < silence.ends_at

    def validate_reason(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("say why: reason must not be blank")
        return value

    def validate(self, data):
        starts = data.get("starts_at") or getattr(self.instance, "starts_at", None)
        starts = starts or timezone.now()
        ends = data.get("ends_at", getattr(self.instance, "ends_at", None))
        if ends is not None and ends <= starts:
            raise serializers.ValidationError(
                {"ends_at": "ends_at must be after starts_at"}
            )
        data["starts_at"] = starts
        return data


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    at = IsoDateTimeField()

    class Meta:
        model = DeliveryAttempt
        fields = ["at", "status_code", "latency_ms", "error", "outcome"]


class NotificationSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="name", read_only=True)
    created_at = IsoDateTimeField()
    sent_at = IsoDateTimeField()
    next_attempt_at = IsoDateTimeField()
    delivery_attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "incident",
            "channel",
            "event",
            "status",
            "severity",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "sent_at",
            "delivery_attempts",
        ]


class ChannelViewSet(AiopsAPIMixin, viewsets.ModelViewSet):
    """Where incidents are sent: webhooks, Slack, PagerDuty (writes: staff)."""

    lookup_value_regex = "[0-9]+"

    serializer_class = ChannelSerializer
    queryset = Channel.objects.order_by("name")


class SilenceViewSet(AiopsAPIMixin, viewsets.ModelViewSet):
    """Maintenance windows: matching incidents are recorded but not sent."""

    lookup_value_regex = "[0-9]+"

    serializer_class = SilenceSerializer
    queryset = Silence.objects.order_by("-starts_at")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user.get_username())


class NotificationViewSet(AiopsAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Every message sent (or silenced) and each delivery attempt."""

    lookup_value_regex = "[0-9]+"

    serializer_class = NotificationSerializer

    def get_queryset(self):
        notifications = Notification.objects.select_related("incident", "channel")
        notifications = notifications.prefetch_related("delivery_attempts")
        incident = self.request.query_params.get("incident")
        if incident:
            notifications = notifications.filter(incident__public_id=incident)
        return notifications
