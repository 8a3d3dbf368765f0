from __future__ import annotations

from django import forms
from django.contrib import admin

from aiops.notifications.models import Channel, DeliveryAttempt, Notification, Silence


class ChannelForm(forms.ModelForm):
    """Secrets are typed in and never rendered back; blank keeps the stored one."""

    url = forms.URLField(
        assume_scheme="https",
        max_length=500,
        required=False,
        widget=forms.PasswordInput,
    )
    routing_key = forms.CharField(
        max_length=100, required=False, widget=forms.PasswordInput
    )

    class Meta:
        model = Channel
        fields = [
            "name",
            "kind",
            "url",
            "routing_key",
            "enabled",
            "services",
            "endpoints",
            "min_severity",
            "repeat_interval",
        ]

    def _kept(self, name: str):
        value = self.cleaned_data.get(name)
        if not value and self.instance.pk:
            return getattr(self.instance, name)
        return value

    def clean_url(self):
        value = self._kept("url")
        if not value and self.cleaned_data.get("kind") != Channel.Kind.PAGERDUTY:
            raise forms.ValidationError("this channel kind needs a URL")
        return value or "https://events.pagerduty.com/v2/enqueue"

    def clean_routing_key(self):
        return self._kept("routing_key") or ""


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = [
        "name",
        "kind",
        "masked_url",
        "enabled",
        "min_severity",
        "repeat_interval",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "service",
        "endpoint",
        "starts_at",
        "ends_at",
        "created_by",
    ]
    search_fields = ["service", "endpoint", "reason"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "latency_ms", "error", "outcome"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "incident",
        "channel",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "event", "channel"]
    list_select_related = ["incident", "channel"]
    search_fields = ["incident__public_id"]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
