"""Incident, anomaly and baseline representations (the seed README's shape)."""

from __future__ import annotations

import math
from datetime import UTC

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aiops.detection.core.seasonal import day_and_slot, slot_label
from aiops.detection.models import Anomaly, EndpointBaseline, Incident, IncidentEvent


class IsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit ``+00:00`` offset (DRF would write ``Z``)."""

    def to_representation(self, value):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat()


class AnomalySerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="public_id", read_only=True)
    window_start = IsoDateTimeField()
    window_end = IsoDateTimeField()
    first_seen = IsoDateTimeField()
    last_seen = IsoDateTimeField()

    class Meta:
        model = Anomaly
        fields = [
            "id",
            "incident",
            "type",
            "service",
            "endpoint",
            "severity",
            "summary",
            "observed",
            "expected",
            "ratio",
            "sample_count",
            "window_start",
            "window_end",
            "first_seen",
            "last_seen",
            "example_trace_ids",
            "detail",
            "history",
        ]


class IncidentEventSerializer(serializers.ModelSerializer):
    """One step of an incident's timeline."""

    at = IsoDateTimeField()
    event = serializers.CharField(source="kind")

    class Meta:
        model = IncidentEvent
        fields = ["at", "event", "by", "note"]


class CandidateSerializer(serializers.Serializer):
    service = serializers.CharField()
    endpoint = serializers.CharField()
    score = serializers.FloatField()


class RootCauseSerializer(serializers.Serializer):
    service = serializers.CharField()
    endpoint = serializers.CharField()
    issue = serializers.CharField()
    description = serializers.CharField(help_text="The same as issue (prototype).")
    confidence = serializers.FloatField()
    candidates = CandidateSerializer(many=True)
    evidence = serializers.DictField()


class EndpointRefSerializer(serializers.Serializer):
    service = serializers.CharField()
    endpoint = serializers.CharField()


class TraceCorrelationSerializer(serializers.Serializer):
    trace_id = serializers.CharField(allow_null=True)
    trace_ids = serializers.ListField(child=serializers.CharField())
    total_traces = serializers.IntegerField()
    correlated_failures = serializers.ListField(child=serializers.CharField())


class IncidentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    root_cause = serializers.SerializerMethodField()
    affected_endpoints = serializers.SerializerMethodField()
    affected = serializers.SerializerMethodField()
    trace_correlation = serializers.SerializerMethodField()
    anomalies = AnomalySerializer(many=True, read_only=True)
    timeline = IncidentEventSerializer(source="events", many=True, read_only=True)
    first_detected = IsoDateTimeField()
    last_seen = IsoDateTimeField()
    acknowledged_at = IsoDateTimeField()
    resolved_at = IsoDateTimeField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "status",
            "severity",
            "kind",
            "title",
            "root_cause",
            "affected_endpoints",
            "affected",
            "first_detected",
            "last_seen",
            "anomalies",
            "trace_correlation",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledgment_note",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "reopen_count",
            "timeline",
        ]

    @extend_schema_field(RootCauseSerializer)
    def get_root_cause(self, incident: Incident) -> dict:
        evidence = {
            k: v for k, v in incident.evidence.items() if k != "cumulative_votes"
        }
        return {
            "service": incident.root_service,
            "endpoint": incident.root_endpoint,
            "issue": incident.root_issue,
            "description": incident.root_issue,  # the prototype's name for it
            "confidence": incident.confidence,
            "candidates": incident.candidates,
            "evidence": evidence,
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_affected_endpoints(self, incident: Incident) -> list[str]:
        names: list[str] = []
        for _, endpoint in incident.affected:
            if endpoint not in names:
                names.append(endpoint)
        return names

    @extend_schema_field(EndpointRefSerializer(many=True))
    def get_affected(self, incident: Incident) -> list[dict]:
        return [{"service": s, "endpoint": e} for s, e in incident.affected]

    @extend_schema_field(TraceCorrelationSerializer)
    def get_trace_correlation(self, incident: Incident) -> dict:
        return {
            "trace_id": incident.trace_ids[0] if incident.trace_ids else None,
            "trace_ids": incident.trace_ids,
            "total_traces": len(incident.trace_ids),
            "correlated_failures": incident.correlated_failures,
        }


class IncidentListSerializer(serializers.Serializer):
    active_incidents = IncidentSerializer(many=True)
    incident_count = serializers.IntegerField()
    active_next_offset = serializers.IntegerField(allow_null=True)
    resolved_incidents = IncidentSerializer(many=True)
    resolved_count = serializers.IntegerField()


class IncidentActionSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default=""
    )


class TimeOfDaySerializer(serializers.Serializer):
    slot = serializers.CharField(help_text="The quarter hour, e.g. 02:00 UTC.")
    basis = serializers.CharField(help_text="hour of day or hour of week")
    factor = serializers.FloatField(
        help_text="How many times the usual latency is expected now."
    )
    expected_latency_ms = serializers.FloatField()


class BaselineSerializer(serializers.ModelSerializer):
    latency_ms = serializers.FloatField(read_only=True)
    learned_at = IsoDateTimeField()
    last_seen = IsoDateTimeField()
    time_of_day = serializers.SerializerMethodField(
        help_text="What this quarter hour usually does to the latency (null when "
        "nothing: no pattern, or not learned yet)."
    )

    @extend_schema_field(TimeOfDaySerializer(allow_null=True))
    def get_time_of_day(self, row: EndpointBaseline) -> dict | None:
        season = self.context.get("seasons", {}).get((row.service, row.endpoint))
        now = self.context.get("now")
        if season is None or now is None:
            return None
        offset = season.offset_at(now)
        if not offset:
            return None
        factor = math.exp(offset)
        slot = day_and_slot(now)[1]
        return {
            "slot": slot_label(slot),
            "basis": season.basis.get(slot, "hour of day"),
            "factor": round(factor, 3),
            "expected_latency_ms": round(row.latency_ms * factor, 3),
        }

    class Meta:
        model = EndpointBaseline
        fields = [
            "id",
            "service",
            "endpoint",
            "latency_ms",
            "log_spread",
            "tail_fraction",
            "error_rate",
            "request_rate",
            "self_time_ms",
            "sample_count",
            "moment_count",
            "learned_at",
            "last_seen",
            "time_of_day",
        ]


class IncidentFilterSerializer(serializers.Serializer):
    status = serializers.CharField(required=False)
    severity = serializers.CharField(required=False)
    service = serializers.CharField(required=False, max_length=100)
    endpoint = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=20
    )
    active_limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=100
    )
    active_offset = serializers.IntegerField(required=False, min_value=0, default=0)

    def _choices(self, value: str, allowed: list[str], name: str) -> list[str]:
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in allowed]
        if unknown or not chosen:
            raise serializers.ValidationError(
                f"{name} must be one or more of {', '.join(allowed)} (comma-separated)"
            )
        return chosen

    def validate_status(self, value: str) -> list[str]:
        return self._choices(value, ["open", "acknowledged", "resolved"], "status")

    def validate_severity(self, value: str) -> list[str]:
        return self._choices(value, ["low", "medium", "high", "critical"], "severity")


class MetricsQuerySerializer(serializers.Serializer):
    window = serializers.IntegerField(
        required=False,
        min_value=10,
        max_value=86_400,
        default=300,
        help_text="Seconds of traffic to summarise.",
    )
    at = serializers.DateTimeField(
        required=False,
        help_text="End of the window (ISO 8601, years 1970 to 9998); default now.",
    )

    def validate_at(self, value):
        # The window is subtracted from it and a day may be added: keep clear of
        # the calendar's ends (year 1 or 9999 would overflow into a 500).
        if not 1970 <= value.year <= 9998:
            raise serializers.ValidationError("at must be between 1970 and 9998")
        return value


class AnalysisCountsSerializer(serializers.Serializer):
    anomalies_detected = serializers.IntegerField()
    incidents_created = serializers.IntegerField()


class AnalyzeResultSerializer(serializers.Serializer):
    cycle_at = serializers.CharField()
    trigger = serializers.CharField()
    skipped = serializers.CharField()
    duration_ms = serializers.FloatField()
    endpoints = serializers.IntegerField()
    spans = serializers.IntegerField()
    findings = serializers.IntegerField()
    opened = serializers.IntegerField()
    updated = serializers.IntegerField()
    reopened = serializers.IntegerField()
    resolved = serializers.IntegerField()
    analysis = AnalysisCountsSerializer(
        help_text="The Flask prototype's field names for findings and openings."
    )


class EndpointHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(["healthy", "degraded", "unhealthy", "idle"])
    health_score = serializers.IntegerField(help_text="0 (failing) to 100.")


class EndpointMetricsSerializer(serializers.Serializer):
    service = serializers.CharField()
    endpoint = serializers.CharField()
    request_count = serializers.IntegerField()
    request_rate = serializers.FloatField()
    avg_latency_ms = serializers.FloatField(allow_null=True)
    p50_latency_ms = serializers.FloatField(allow_null=True)
    p95_latency_ms = serializers.FloatField(allow_null=True)
    p99_latency_ms = serializers.FloatField(allow_null=True)
    error_rate = serializers.FloatField()
    status_distribution = serializers.DictField(child=serializers.IntegerField())
    baseline_latency_ms = serializers.FloatField(allow_null=True)
    baseline_error_rate = serializers.FloatField(allow_null=True)
    baseline_request_rate = serializers.FloatField(allow_null=True)
    baseline_samples = serializers.IntegerField()
    health = EndpointHealthSerializer()


class MetricsSerializer(serializers.Serializer):
    metrics = serializers.DictField(child=EndpointMetricsSerializer())
    window_seconds = serializers.IntegerField()
    generated_at = serializers.CharField()


class ServiceEndpointSerializer(serializers.Serializer):
    endpoint = serializers.CharField()
    health = serializers.ChoiceField(["idle", "ok", "degraded", "failing"])
    request_rate = serializers.FloatField(help_text="Learned requests per second.")
    error_rate = serializers.FloatField()
    latency_ms = serializers.FloatField(help_text="Learned typical latency.")
    requests_total = serializers.IntegerField()
    last_seen = IsoDateTimeField(allow_null=True)
    incidents = serializers.ListField(child=serializers.CharField())


class ServiceSerializer(serializers.Serializer):
    service = serializers.CharField()
    health = serializers.ChoiceField(["idle", "ok", "degraded", "failing"])
    endpoints = ServiceEndpointSerializer(many=True)


class ServicesSerializer(serializers.Serializer):
    services = ServiceSerializer(many=True)


class DependencySerializer(serializers.Serializer):
    caller = EndpointRefSerializer()
    callee = EndpointRefSerializer()
    call_rate = serializers.FloatField(help_text="Calls per second, recently.")
    error_rate = serializers.FloatField()
    latency_ms = serializers.FloatField(allow_null=True, help_text="Callee's time.")
    network_ms = serializers.FloatField(
        allow_null=True, help_text="CLIENT minus SERVER span time: between the two."
    )
    calls_total = serializers.IntegerField()
    errors_total = serializers.IntegerField()
    first_seen = IsoDateTimeField()
    last_seen = IsoDateTimeField()


class DependenciesSerializer(serializers.Serializer):
    dependencies = DependencySerializer(many=True)
