from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import re_path
from django.utils import timezone

from aiops.detection import admin_display as show
from aiops.detection.actions import (
    Outcome,
    incident_acknowledge,
    incident_resolve,
    incidents_acknowledge,
    incidents_resolve,
)
from aiops.detection.models import (
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
        "observed_value",
        "expected_value",
        "sample_count",
        "first_seen_at",
        "last_seen_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Observed")
    def observed_value(self, anomaly: Anomaly) -> str:
        return show.measure(anomaly.type, anomaly.observed)

    @admin.display(description="Expected")
    def expected_value(self, anomaly: Anomaly) -> str:
        return show.measure(anomaly.type, anomaly.expected)

    @admin.display(description="First seen")
    def first_seen_at(self, anomaly: Anomaly) -> str:
        return show.when(anomaly.first_seen)

    @admin.display(description="Last seen")
    def last_seen_at(self, anomaly: Anomaly) -> str:
        return show.when(anomaly.last_seen)


class EventInline(admin.TabularInline):
    """The timeline: opened, escalated, reopened, acknowledged, resolved, by whom."""

    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ["when", "kind", "by", "note"]
    readonly_fields = fields
    verbose_name = "timeline event"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="At")
    def when(self, event: IncidentEvent) -> str:
        return show.when(event.at)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Incidents for operators: a compact list, and a read-only page that reads
    like a report, with Acknowledge and Resolve (and a note) as buttons. The
    analysis owns the incident's fields; people change only its status."""

    list_display = [
        "public_id",
        "status_badge",
        "severity_badge",
        "kind",
        "short_title",
        "root",
        "anomaly_count",
        "first_seen_short",
        "last_seen_short",
    ]
    list_filter = ["status", "severity", "kind", "root_service"]
    search_fields = ["public_id", "title", "root_endpoint", "root_service"]
    ordering = ["-last_seen"]
    inlines = [EventInline, AnomalyInline]
    actions = ["acknowledge", "resolve"]
    change_form_template = "admin/detection/incident/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    ("status_badge", "severity_badge", "kind"),
                    "dashboard",
                    ("first_seen", "last_seen_at", "reopen_count"),
                ]
            },
        ),
        (
            "Root cause",
            {"fields": ["root", "root_issue", "confidence_percent", "candidate_table"]},
        ),
        (
            "Evidence",
            {"fields": ["affected_table", "evidence_table", "trace_links"]},
        ),
        (
            "People",
            {
                "fields": [
                    ("acknowledged_by", "acknowledged", "acknowledgment_note"),
                    ("resolved_by", "resolved", "resolution_note"),
                ]
            },
        ),
    ]
    readonly_fields = [
        "title",
        "status_badge",
        "severity_badge",
        "kind",
        "dashboard",
        "first_seen",
        "last_seen_at",
        "reopen_count",
        "root",
        "root_issue",
        "confidence_percent",
        "candidate_table",
        "affected_table",
        "evidence_table",
        "trace_links",
        "acknowledged_by",
        "acknowledged",
        "acknowledgment_note",
        "resolved_by",
        "resolved",
        "resolution_note",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(anomaly_total=Count("anomalies"))

    @admin.display(description="Anomalies", ordering="anomaly_total")
    def anomaly_count(self, incident: Incident) -> int:
        return incident.anomaly_total

    @admin.display(description="Status", ordering="status")
    def status_badge(self, incident: Incident) -> str:
        return show.badge(incident.status)

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, incident: Incident) -> str:
        return show.badge(incident.severity)

    @admin.display(description="Title", ordering="title")
    def short_title(self, incident: Incident) -> str:
        return show.short(incident.title)

    @admin.display(description="Root cause", ordering="root_endpoint")
    def root(self, incident: Incident) -> str:
        return show.short(f"{incident.root_service}/{incident.root_endpoint}", 30)

    @admin.display(description="First detected", ordering="first_detected")
    def first_seen(self, incident: Incident) -> str:
        return show.when(incident.first_detected)

    @admin.display(description="Last seen", ordering="last_seen")
    def last_seen_at(self, incident: Incident) -> str:
        return show.when(incident.last_seen)

    @admin.display(description="First detected (UTC)", ordering="first_detected")
    def first_seen_short(self, incident: Incident) -> str:
        return show.when_short(incident.first_detected)

    @admin.display(description="Last seen (UTC)", ordering="last_seen")
    def last_seen_short(self, incident: Incident) -> str:
        return show.when_short(incident.last_seen)

    @admin.display(description="Acknowledged at")
    def acknowledged(self, incident: Incident) -> str:
        return show.when(incident.acknowledged_at)

    @admin.display(description="Resolved at")
    def resolved(self, incident: Incident) -> str:
        return show.when(incident.resolved_at)

    @admin.display(description="Confidence")
    def confidence_percent(self, incident: Incident) -> str:
        return f"{incident.confidence:.0%}"

    @admin.display(description="Candidates, best first")
    def candidate_table(self, incident: Incident) -> str:
        return show.candidates(incident)

    @admin.display(description="Affected now")
    def affected_table(self, incident: Incident) -> str:
        return show.affected(incident)

    @admin.display(description="Evidence")
    def evidence_table(self, incident: Incident) -> str:
        return show.evidence(incident)

    @admin.display(description="Example traces")
    def trace_links(self, incident: Incident) -> str:
        return show.traces(incident)

    @admin.display(description="Dashboard")
    def dashboard(self, incident: Incident) -> str:
        return show.dashboard_link(incident)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only pages (no Save buttons); status changes go through the
        # actions and buttons below, which call the same services as the API.
        return False

    def get_urls(self):
        own = [
            re_path(
                r"^(?P<object_id>[0-9]+)/(?P<verb>acknowledge|resolve)/$",
                self.admin_site.admin_view(self.act_view),
                name="detection_incident_act",
            )
        ]
        return own + super().get_urls()

    def act_view(self, request, object_id: str, verb: str):
        services = {"acknowledge": incident_acknowledge, "resolve": incident_resolve}
        if (
            request.method != "POST"
            or verb not in services
            or not request.user.is_staff
        ):
            return HttpResponseNotAllowed(["POST"])
        incident = get_object_or_404(Incident, pk=object_id)
        outcome = services[verb](
            incident=incident,
            by=request.user.get_username(),
            note=request.POST.get("note", "")[:2000],
            now=timezone.now(),
        )
        done = "acknowledged" if verb == "acknowledge" else "resolved"
        if outcome is Outcome.CHANGED:
            self.message_user(
                request, f"{incident.public_id} {done}.", messages.SUCCESS
            )
        elif outcome is Outcome.UNCHANGED:
            self.message_user(request, f"{incident.public_id} was already {done}.")
        else:
            self.message_user(
                request,
                f"{incident.public_id} is {incident.status}; not {done}.",
                messages.ERROR,
            )
        return redirect("admin:detection_incident_change", object_id)

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
        "query_level",
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
