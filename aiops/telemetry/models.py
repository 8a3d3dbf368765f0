from __future__ import annotations

from django.db import models


class SpanKind(models.TextChoices):
    SERVER = "server", "Server"
    CLIENT = "client", "Client"
    CONSUMER = "consumer", "Consumer"
    PRODUCER = "producer", "Producer"
    INTERNAL = "internal", "Internal"


class Span(models.Model):
    """One timed operation: a request our middleware served, or an ingested span.

    SERVER and CONSUMER spans are the endpoints detection judges; CLIENT spans only
    describe calls (edges, network time) and never form an endpoint of their own.
    Rows are written in bulk by ``store.insert_spans``, never one by one.
    """

    UNMATCHED_ENDPOINT = "unmatched"

    service = models.CharField(max_length=100)
    # A URL name, route template or OTel http.route: never a raw path, so the number
    # of endpoints stays bounded whatever URLs clients invent.
    endpoint = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=8, choices=SpanKind.choices, default=SpanKind.SERVER
    )
    method = models.CharField(max_length=16, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Milliseconds as a double: microsecond resolution for any realistic duration.
    duration_ms = models.FloatField()
    start_time = models.DateTimeField()
    # NULL, not "", means "no trace information": NULLs never collide in the unique
    # constraint below, so spans without ids are all kept.
    trace_id = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    span_id = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    parent_span_id = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    is_error = models.BooleanField(default=False)
    error_type = models.CharField(max_length=200, blank=True)
    error_message = models.TextField(blank=True)
    stack_trace = models.TextField(blank=True)
    # CLIENT spans: who was called (service name or host:port), for call edges.
    peer = models.CharField(max_length=200, blank=True)
    # The version of the service that served it (OTLP ``service.version``, or
    # AIOPS_SERVICE_VERSION for the middleware); "" when unknown. A new one is a
    # deployment (changes.versions).
    version = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The database work of a request our middleware served (telemetry.queries):
    # how many queries and their time in all (NULL: not captured), and the
    # statement it ran most often, normalised without values, with how often
    # ("" and the count when nothing ran twice).
    query_count = models.PositiveIntegerField(null=True, blank=True)
    query_ms = models.FloatField(null=True, blank=True)
    top_query = models.CharField(max_length=300, blank=True, default="", db_default="")
    top_query_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        indexes = [
            # The analysis cycle reads "everything in the last N seconds".
            models.Index(fields=["start_time"], name="span_start_idx"),
            # Charts and low-traffic look-backs read one endpoint over a time range.
            models.Index(
                fields=["service", "endpoint", "start_time"],
                name="span_endpoint_time_idx",
            ),
        ]
        constraints = [
            # Serves "all spans of a trace" and stores a re-delivered span once.
            # Spans without ids (NULL) are never considered duplicates.
            models.UniqueConstraint(
                fields=["trace_id", "span_id"], name="span_trace_span_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service}/{self.endpoint} {self.status_code} {self.duration_ms}ms"


class ProcessStats(models.Model):
    """Counters of one process (host, pid), for /metrics totals across workers."""

    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    spans_written = models.BigIntegerField(default=0)
    spans_dropped = models.BigIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    otlp_accepted = models.BigIntegerField(default=0)
    otlp_rejected = models.BigIntegerField(default=0)
    # Spans stored under their service's "(other)" endpoint: over the name caps.
    otlp_overflowed = models.BigIntegerField(default=0)
    telemetry_failures = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "pid"], name="process_stats_uniq")
        ]
        verbose_name_plural = "process stats"

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"


class IngestToken(models.Model):
    """A credential for ``POST /v1/traces``, and which services it may write for.

    Only a SHA-256 of the key is stored: the key is shown once, when it is made
    (``manage.py ingest_token create``, or ``aiops_setup`` for the default one).
    """

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # The key's first characters, to tell keys apart in lists; never enough to use.
    prefix = models.CharField(max_length=12)
    # Service names this token writes spans for; empty: any service (but never
    # this app's own, which only its middleware records).
    services = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
