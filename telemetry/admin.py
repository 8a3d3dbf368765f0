from django.contrib import admin

from telemetry.models import Span


@admin.register(Span)
class SpanAdmin(admin.ModelAdmin):
    """Read-only: spans are evidence, written only by the telemetry pipeline."""

    list_display = [
        "start_time",
        "service",
        "endpoint",
        "method",
        "status_code",
        "duration_ms",
        "is_error",
        "trace_id",
    ]
    list_filter = ["service", "is_error", "kind"]
    search_fields = ["=trace_id", "endpoint"]
    date_hierarchy = "start_time"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
