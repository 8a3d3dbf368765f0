from django.contrib import admin

from demo_shop.models import Fault


@admin.register(Fault)
class FaultAdmin(admin.ModelAdmin):
    list_display = ["endpoint", "delay_ms", "error_rate", "updated_by", "updated_at"]
    readonly_fields = ["updated_at"]
