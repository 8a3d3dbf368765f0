"""What changed: deployments, configuration changes and feature flags.

A change is recorded by a deploy pipeline (``POST /aiops/changes``), by hand
(``manage.py record_change``), or learned from spans: the first span that carries
a new ``service.version`` of a service already seen with another version is a
deployment. Root-cause analysis weighs changes made shortly before an incident
(``aiops.changes.attribution``).
"""

from __future__ import annotations

from django.db import models


class ChangeKind(models.TextChoices):
    DEPLOY = "deploy", "Deployment"
    CONFIG = "config", "Configuration change"
    FLAG = "flag", "Feature flag"


class ChangeSource(models.TextChoices):
    API = "api", "API"
    COMMAND = "command", "Command line"
    ADMIN = "admin", "Admin"
    REPLAY = "replay", "Replay"
    SPANS = "spans", "Learned from spans"


class Change(models.Model):
    service = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=8, choices=ChangeKind.choices, default=ChangeKind.DEPLOY
    )
    version = models.CharField(max_length=64, blank=True)
    # The version the service ran before (learned deployments; optional otherwise).
    previous_version = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(help_text="When the change took effect.")
    source = models.CharField(max_length=8, choices=ChangeSource.choices)
    recorded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["service", "at"], name="change_service_at")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """ "payment 1.4.2 deployed", "payment configuration changed: ..."."""
        if self.kind == ChangeKind.DEPLOY:
            text = f"{self.service} {self.version or '(no version)'} deployed"
        elif self.kind == ChangeKind.CONFIG:
            text = f"{self.service} configuration changed"
        else:
            text = f"{self.service} feature flag changed"
        if self.kind != ChangeKind.DEPLOY and self.version:
            text += f" ({self.version})"
        if self.note:
            text += f": {self.note}"
        return text


class ServiceVersion(models.Model):
    """A version of a service seen in spans: when it first and last served."""

    service = models.CharField(max_length=100)
    version = models.CharField(max_length=64)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    spans = models.BigIntegerField(default=0, help_text="Spans seen with it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "version"], name="service_version_uniq"
            )
        ]
        ordering = ["service", "-first_seen"]

    def __str__(self) -> str:
        return f"{self.service} {self.version}"
