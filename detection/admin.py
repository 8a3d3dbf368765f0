from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone

from detection.actions import incidents_acknowledge, incidents_resolve
from detection.models import (
    AnalysisRun,
    Anomaly,
    DependencyEdge,
    EndpointBaseline,
    Incident,
    IncidentEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the analysis owns: operators look, the cycle writes."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AnomalyInline(admin.TabularInline):
    model = Anomaly
    extra = 0
    can_delete = False
    fields = [
        "type",
        "service",
        "endpoint",
        "severity",
        "summary",
        "observed",
        "expected",
        "sample_count",
        "first_seen",
        "last_seen",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    """The timeline: opened, escalated, reopened, acknowledged, resolved, by whom."""

    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "by", "note"]
    readonly_fields = fields
    verbose_name = "timeline event"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "status",
        "severity",
        "kind",
        "title",
        "root_service",
        "root_endpoint",
        "anomaly_count",
        "first_detected",
        "last_seen",
        "acknowledged_by",
    ]
    list_filter = ["status", "severity", "kind", "root_service"]
    search_fields = ["public_id", "title", "root_endpoint", "root_service"]
    ordering = ["-last_seen"]
    inlines = [EventInline, AnomalyInline]
    actions = ["acknowledge", "resolve"]
    readonly_fields = [
        "public_id",
        "fingerprint",
        "kind",
        "title",
        "severity",
        "status",
        "root_service",
        "root_endpoint",
        "root_issue",
        "confidence",
        "candidates",
        "evidence",
        "affected",
        "correlated_failures",
        "trace_ids",
        "first_detected",
        "last_seen",
        "reopen_count",
        "acknowledged_by",
        "acknowledged_at",
        "acknowledgment_note",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(anomaly_total=Count("anomalies"))

    @admin.display(description="Anomalies", ordering="anomaly_total")
    def anomaly_count(self, incident: Incident) -> int:
        return incident.anomaly_total

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset):
        changed = incidents_acknowledge(
            incidents=queryset, by=request.user.get_username(), now=timezone.now()
        )
        self._report(request, changed, queryset.count(), "acknowledged")

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset):
        changed = incidents_resolve(
            incidents=queryset, by=request.user.get_username(), now=timezone.now()
        )
        self._report(request, changed, queryset.count(), "resolved")

    def _report(self, request, changed: int, selected: int, verb: str) -> None:
        unchanged = selected - changed
        message = f"{changed} incident(s) {verb}."
        if unchanged:
            message += f" {unchanged} left as they were (already {verb} or resolved)."
        self.message_user(
            request, message, messages.SUCCESS if changed else messages.INFO
        )


@admin.register(EndpointBaseline)
class EndpointBaselineAdmin(ReadOnlyAdmin):
    list_display = [
        "service",
        "endpoint",
        "latency",
        "error_rate",
        "request_rate",
        "sample_count",
        "learned_at",
        "last_seen",
    ]
    list_filter = ["service"]
    search_fields = ["service", "endpoint"]

    @admin.display(description="Latency (ms)")
    def latency(self, baseline: EndpointBaseline) -> str:
        return f"{baseline.latency_ms:.1f}"


@admin.register(DependencyEdge)
class DependencyEdgeAdmin(ReadOnlyAdmin):
    list_display = [
        "caller_service",
        "caller_endpoint",
        "callee_service",
        "callee_endpoint",
        "call_count",
        "error_count",
        "last_seen",
    ]


@admin.register(AnalysisRun)
class AnalysisRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "cycle_at",
        "trigger",
        "duration_ms",
        "endpoints",
        "spans",
        "findings",
        "opened",
        "resolved",
        "skipped",
    ]
    list_filter = ["trigger"]
