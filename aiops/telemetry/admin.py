from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList

from aiops.telemetry.models import IngestToken, Span


class BoundedDateChangeList(ChangeList):
    """The date hierarchy's year 9999 (whose end is in year 10000) is a bad
    parameter (the admin's "?e=1" page), not a server error."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


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
        "query_count",
        "is_error",
        "trace_id",
    ]
    list_filter = ["service", "is_error", "kind"]
    search_fields = ["=trace_id", "endpoint"]
    date_hierarchy = "start_time"

    def get_changelist(self, request, **kwargs):
        return BoundedDateChangeList

    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    """Keys are made by ``manage.py ingest_token create`` (shown once, stored hashed);
    here they are listed and revoked."""

    list_display = [
        "name",
        "prefix",
        "services",
        "enabled",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["enabled"]
    readonly_fields = list_display
    fields = list_display
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected ingest tokens", permissions=["delete"])
    def revoke(self, request, queryset):
        revoked = queryset.filter(enabled=True).update(enabled=False)
        self.message_user(
            request, f"{revoked} ingest token(s) revoked.", messages.SUCCESS
        )
