from django.contrib import admin

from aiops.changes.models import Change, ChangeSource, ServiceVersion


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "service", "kind", "version", "source", "recorded_by", "note"]
    list_filter = ["kind", "source", "service"]
    search_fields = ["service", "version", "note"]
    date_hierarchy = "at"
    readonly_fields = ["source", "recorded_by", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.source = ChangeSource.ADMIN
            obj.recorded_by = request.user.get_username()
        super().save_model(request, obj, form, change)


@admin.register(ServiceVersion)
class ServiceVersionAdmin(admin.ModelAdmin):
    list_display = ["service", "version", "first_seen", "last_seen", "spans"]
    list_filter = ["service"]
    search_fields = ["service", "version"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
