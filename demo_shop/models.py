from __future__ import annotations

from django.db import models

# The demo endpoints that faults can target, by URL name (= telemetry endpoint).
DEMO_ENDPOINTS = ("checkout", "health", "inventory", "payment")


class Fault(models.Model):
    """An injected fault on one demo endpoint, shared by every worker process."""

    endpoint = models.CharField(
        max_length=32, unique=True, choices=[(name, name) for name in DEMO_ENDPOINTS]
    )
    delay_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["endpoint"]

    def __str__(self) -> str:
        return f"{self.endpoint}: +{self.delay_ms} ms, {self.error_rate:.0%} errors"

    @property
    def is_active(self) -> bool:
        return self.delay_ms > 0 or self.error_rate > 0
