from __future__ import annotations

import math
from datetime import datetime

from django.db import models
from django.db.models import Q

from aiops.detection.core.kinds import AnomalyType, FaultKind


class EndpointBaseline(models.Model):
    """What normal looks like for one endpoint (``core.types.Baseline``)."""

    service = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    log_level = models.FloatField(default=0.0)
    log_anchor = models.FloatField(null=True, blank=True)
    log_spread = models.FloatField(default=0.0)
    tail_fraction = models.FloatField(default=0.0)
    error_rate = models.FloatField(default=0.0)
    request_rate = models.FloatField(default=0.0, help_text="Requests per second.")
    self_time_ms = models.FloatField(null=True, blank=True)
    sample_count = models.BigIntegerField(default=0)
    moment_count = models.BigIntegerField(
        default=0, help_text="Distinct seconds the learned requests arrived in."
    )
    cycle_mean = models.FloatField(default=0.0)
    cycle_var = models.FloatField(default=0.0)
    cycle_count = models.BigIntegerField(default=0)
    recent_medians = models.JSONField(default=list, blank=True)
    recent_counts = models.JSONField(default=list, blank=True)
    within_var = models.FloatField(default=0.0)
    busy_cycles = models.BigIntegerField(
        default=0,
        help_text="Cycles that held at least a window's worth of requests: "
        "medians of few requests are then not judged by the shift detector.",
    )
    query_level = models.FloatField(
        null=True, blank=True, help_text="Typical database queries per request."
    )
    query_samples = models.BigIntegerField(default=0, db_default=0)
    series = models.JSONField(
        default=dict,
        blank=True,
        help_text="State of the series detector, for an endpoint that never had "
        "a busy cycle (detection.core.detectors.series).",
    )
    learned_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    suspicious_since = models.JSONField(default=dict, blank=True)
    # Cumulative counters of the spans the analysis saw (for /metrics).
    requests_total = models.BigIntegerField(default=0)
    errors_total = models.BigIntegerField(default=0)
    duration_sum_ms = models.FloatField(default=0.0)
    duration_buckets = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "endpoint"], name="baseline_endpoint_uniq"
            )
        ]
        ordering = ["service", "endpoint"]

    def __str__(self) -> str:
        return f"{self.service}/{self.endpoint}"

    @property
    def latency_ms(self) -> float:
        return math.exp(self.log_level) if self.sample_count else 0.0


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ACTIVE_STATUSES = (IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED)


class IncidentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class FaultKindChoice(models.TextChoices):
    LATENCY = FaultKind.LATENCY.value, "Latency"
    ERRORS = FaultKind.ERRORS.value, "Errors"
    QUERIES = FaultKind.QUERIES.value, "Queries"
    TRAFFIC = FaultKind.TRAFFIC.value, "Traffic"


class Incident(models.Model):
    """One fault, however many cycles and endpoints it shows up in.

    A fault is one root and one kind (``aiops.detection.core.kinds``): the root where
    it started, and whether requests there fail or are slow (or go unanswered).
    """

    public_id = models.CharField(max_length=40, unique=True)
    # Root and kind when the incident opened ("service/endpoint#kind"); later
    # cycles finding the same fault update this incident instead of opening one.
    fingerprint = models.CharField(max_length=320)
    kind = models.CharField(
        max_length=10, choices=FaultKindChoice.choices, default=FaultKind.LATENCY.value
    )
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(
        max_length=12, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    root_service = models.CharField(max_length=100)
    root_endpoint = models.CharField(max_length=200)
    root_issue = models.TextField()
    confidence = models.FloatField(default=0.0)
    candidates = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    affected = models.JSONField(default=list, blank=True)
    correlated_failures = models.JSONField(default=list, blank=True)
    trace_ids = models.JSONField(default=list, blank=True)
    first_detected = models.DateTimeField()
    # The last cycle that still saw its anomalies.
    last_seen = models.DateTimeField()
    # Seconds of analysed time since then without its anomalies (each cycle adds
    # the time since the previous one, at most a window, so neither a clock jump
    # nor an outage of the analysis counts as healthy time); it resolves itself
    # at ``resolve_after``.
    quiet_seconds = models.FloatField(default=0.0)
    reopen_count = models.PositiveIntegerField(default=0)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgment_note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        constraints = [
            # The database, not only the code, keeps one active incident per fault.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(status="resolved"),
                name="one_active_incident_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "-last_seen"], name="incident_status_seen_idx"
            ),
            models.Index(
                fields=["fingerprint", "-resolved_at"], name="incident_fp_idx"
            ),
        ]
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    # Status changes are conditional UPDATEs of the status and the fields that go
    # with it, never a save() of the whole row: two operators clicking at once
    # record one of them, and an analysis cycle (which writes only the fields it
    # owns) and an operator never overwrite each other.

    def acknowledge(self, *, by: str, note: str = "", at: datetime) -> bool:
        """Open -> acknowledged. False (and nothing written) if it was not open."""
        return self._transition(
            IncidentEvent.Kind.ACKNOWLEDGED,
            at=at,
            by=by,
            note=note,
            when=[IncidentStatus.OPEN],
            status=IncidentStatus.ACKNOWLEDGED,
            acknowledged_by=by,
            acknowledged_at=at,
            acknowledgment_note=note,
        )

    def resolve(self, *, by: str, note: str = "", at: datetime) -> bool:
        """Open or acknowledged -> resolved. False if it was already resolved."""
        return self._transition(
            IncidentEvent.Kind.RESOLVED,
            at=at,
            by=by,
            note=note,
            when=ACTIVE_STATUSES,
            status=IncidentStatus.RESOLVED,
            resolved_by=by,
            resolved_at=at,
            resolution_note=note,
        )

    def reopen(self, *, at: datetime, note: str = "") -> bool:
        """Resolved -> open (the same fault recurred). False if it was not resolved."""
        return self._transition(
            IncidentEvent.Kind.REOPENED,
            at=at,
            by=SYSTEM_ACTOR,
            note=note,
            when=[IncidentStatus.RESOLVED],
            status=IncidentStatus.OPEN,
            resolved_by="",
            resolved_at=None,
            resolution_note="",
            reopen_count=models.F("reopen_count") + 1,
        )

    def _transition(self, event, *, at, by, note, when, **changes) -> bool:
        changed = Incident.objects.filter(pk=self.pk, status__in=when).update(
            **changes, updated_at=at
        )
        if changed:
            self.events.create(at=at, kind=event, by=by, note=note[:2000])
        self.refresh_from_db()
        return bool(changed)


SYSTEM_ACTOR = "system"


class IncidentEvent(models.Model):
    """What happened to an incident and who did it: its timeline."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        ESCALATED = "escalated", "Escalated"
        REOPENED = "reopened", "Reopened"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        CHANGE = "change", "Change blamed"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    by = models.CharField(max_length=150)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incidentevent_at_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.kind} by {self.by}"


class Anomaly(models.Model):
    """One anomalous signal of one endpoint within an incident, kept current."""

    class Type(models.TextChoices):
        LATENCY = AnomalyType.LATENCY.value, AnomalyType.LATENCY.label
        SHIFT = AnomalyType.SHIFT.value, AnomalyType.SHIFT.label
        SERIES = AnomalyType.SERIES.value, AnomalyType.SERIES.label
        ERRORS = AnomalyType.ERRORS.value, AnomalyType.ERRORS.label
        SILENCE = AnomalyType.SILENCE.value, AnomalyType.SILENCE.label
        CALLS = AnomalyType.CALLS.value, AnomalyType.CALLS.label
        N_PLUS_ONE = AnomalyType.N_PLUS_ONE.value, AnomalyType.N_PLUS_ONE.label
        QUERY_COUNT = AnomalyType.QUERY_COUNT.value, AnomalyType.QUERY_COUNT.label
        TRAFFIC_SURGE = (
            AnomalyType.TRAFFIC_SURGE.value,
            AnomalyType.TRAFFIC_SURGE.label,
        )
        TRAFFIC_DROP = AnomalyType.TRAFFIC_DROP.value, AnomalyType.TRAFFIC_DROP.label

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="anomalies"
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    service = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300)
    observed = models.FloatField()
    expected = models.FloatField()
    ratio = models.FloatField()
    sample_count = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    example_trace_ids = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Per cycle that saw it (the most recent HISTORY_LIMIT): when, what was seen,
    # what was expected, out of how many requests.
    history = models.JSONField(default=list, blank=True)

    HISTORY_LIMIT = 120

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "service", "endpoint", "type"], name="anomaly_uniq"
            )
        ]
        ordering = ["first_seen", "id"]
        verbose_name_plural = "anomalies"

    def __str__(self) -> str:
        return f"{self.type} on {self.service}/{self.endpoint}"


class DependencyEdge(models.Model):
    """A caller -> callee call learned from traces (the service map)."""

    caller_service = models.CharField(max_length=100)
    caller_endpoint = models.CharField(max_length=200)
    callee_service = models.CharField(max_length=100)
    callee_endpoint = models.CharField(max_length=200)
    call_count = models.BigIntegerField(default=0)
    error_count = models.BigIntegerField(default=0)
    # Recent behaviour (EWMA per cycle): calls per second, share failed, callee ms.
    call_rate = models.FloatField(null=True, blank=True)
    error_rate = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # Per cycle (EWMA over the cycles whose calls looked usual): calls made by the
    # caller's successful requests, and those requests. Their quotient is what
    # the missing-calls detector expects per request, weighted as the requests
    # were (a cycle of a few heavy pages does not count as much as a busy one).
    usual_calls = models.FloatField(null=True, blank=True)
    usual_requests = models.FloatField(null=True, blank=True)
    # The CLIENT span the caller records for this call (name and peer), so that a
    # call that never got an answer can still be pinned on this callee.
    client_endpoint = models.CharField(max_length=200, blank=True)
    peer = models.CharField(max_length=200, blank=True)
    # Typical delay from the caller's start to the call's start: the call order.
    offset_ms = models.FloatField(null=True, blank=True)
    # Typical CLIENT minus SERVER span duration: time spent between the two.
    gap_ms = models.FloatField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "caller_service",
                    "caller_endpoint",
                    "callee_service",
                    "callee_endpoint",
                ],
                name="dependency_edge_uniq",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.caller_service}/{self.caller_endpoint} -> "
            f"{self.callee_service}/{self.callee_endpoint}"
        )


class AnalysisLease(models.Model):
    """Cluster-wide lock for the analysis cycle, and where the last cycle left off.

    A lease rather than a process flag: any number of workers on any number of
    machines may try; one wins until it releases or ``expires_at`` passes (a worker
    killed mid-cycle cannot block the next one for longer than that).
    """

    name = models.CharField(max_length=50, unique=True)
    holder = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    # Span ids counted into the /metrics counters so far, and the newest id seen by
    # the previous cycle (counted by the next one: see detection.counting).
    counted_span_id = models.BigIntegerField(default=0)
    pending_span_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class AnalysisRun(models.Model):
    """One analysis cycle that ran (or was skipped), for operators and /metrics."""

    cycle_at = models.DateTimeField(help_text="The cycle's time (simulated in replay).")
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0.0)
    trigger = models.CharField(max_length=20)
    holder = models.CharField(max_length=100, blank=True)
    endpoints = models.PositiveIntegerField(default=0)
    spans = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    skipped = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["-started_at"], name="analysisrun_started_idx")]

    def __str__(self) -> str:
        return f"{self.trigger} cycle at {self.cycle_at:%Y-%m-%d %H:%M:%S}"


class EndpointRollup(models.Model):
    """One endpoint's new spans of one cycle, summarised: the charts read these,
    never raw spans, so a week of history is a few thousand rows per endpoint."""

    service = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    at = models.DateTimeField(help_text="The cycle's time; the bucket ends here.")
    seconds = models.FloatField(help_text="How long a stretch the bucket covers.")
    requests = models.PositiveIntegerField()
    errors = models.PositiveIntegerField()
    p50_ms = models.FloatField()
    p95_ms = models.FloatField()
    p99_ms = models.FloatField()
    baseline_ms = models.FloatField(null=True, blank=True)
    threshold_ms = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["service", "endpoint", "at"], name="rollup_endpoint_at_idx"
            ),
            models.Index(fields=["at"], name="rollup_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service}/{self.endpoint} at {self.at:%H:%M:%S}"


class SeasonalSlot(models.Model):
    """One endpoint's quarter hour of one day: how far its latency sat from its
    plain level then, and its traffic (``aiops.detection.core.seasonal``). Fifteen days
    of these are kept: 96 rows per endpoint and day."""

    service = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    day = models.IntegerField(help_text="Days since 1970-01-01 (UTC).")
    slot = models.PositiveSmallIntegerField(help_text="Quarter hour of the day, 0-95.")
    cycles = models.PositiveIntegerField(
        default=0, help_text="Cycles whose median latency was measured."
    )
    offset_sum = models.FloatField(
        default=0.0, help_text="Sum of those cycles' log(median / plain level)."
    )
    requests = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(
        default=0.0, help_text="Seconds of the quarter hour the analysis watched."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "endpoint", "day", "slot"],
                name="seasonal_slot_unique",
            )
        ]
        indexes = [
            models.Index(fields=["slot", "day"], name="seasonal_slot_day_idx"),
            models.Index(fields=["day"], name="seasonal_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service}/{self.endpoint} day {self.day} slot {self.slot}"
