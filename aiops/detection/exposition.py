"""The Prometheus text exposition of /metrics, built from the database.

Per endpoint: request and error counters and a latency histogram of the spans the
analysis saw; the app's own health: spans written, dropped and queued (summed over
every worker process), OTLP spans accepted and rejected, the last analysis cycle
and active incidents by severity.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from aiops.detection.counting import HISTOGRAM_BOUNDS_MS
from aiops.detection.models import AnalysisRun, EndpointBaseline, Incident, Severity
from aiops.telemetry import counters

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Collector:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self):
        yield from self._endpoints()
        yield from self._pipeline()
        yield from self._analysis()

    def _endpoints(self):
        labels = ["service", "endpoint"]
        requests = CounterMetricFamily(
            "aiops_requests",
            "Requests (SERVER spans) seen by the analysis.",
            labels=labels,
        )
        errors = CounterMetricFamily(
            "aiops_request_errors",
            "Requests that failed (5xx or error status).",
            labels=labels,
        )
        latency = HistogramMetricFamily(
            "aiops_request_duration_seconds", "Request latency.", labels=labels
        )
        rows = EndpointBaseline.objects.order_by("service", "endpoint").values_list(
            "service",
            "endpoint",
            "requests_total",
            "errors_total",
            "duration_sum_ms",
            "duration_buckets",
        )
        bounds = [f"{bound / 1000:g}" for bound in HISTOGRAM_BOUNDS_MS] + ["+Inf"]
        for service, endpoint, total, failed, duration_sum, buckets in rows:
            values = [service, endpoint]
            requests.add_metric(values, total)
            errors.add_metric(values, failed)
            counts = list(buckets) or [0] * len(bounds)
            latency.add_metric(
                values, list(zip(bounds, counts, strict=True)), duration_sum / 1000.0
            )
        yield from (requests, errors, latency)

    def _pipeline(self):
        totals = counters.totals(self.now)
        for name, key, text in (
            (
                "aiops_spans_written",
                "spans_written",
                "Spans stored by the span writers.",
            ),
            (
                "aiops_spans_dropped",
                "spans_dropped",
                "Spans dropped (queue full, storage down).",
            ),
            (
                "aiops_otlp_spans_accepted",
                "otlp_accepted",
                "Spans accepted on /v1/traces.",
            ),
            (
                "aiops_otlp_spans_rejected",
                "otlp_rejected",
                "Spans rejected on /v1/traces.",
            ),
            (
                "aiops_otlp_spans_overflowed",
                "otlp_overflowed",
                "Spans over the caps on distinct endpoint names: stored under "
                "their service's (other) endpoint, or refused.",
            ),
            (
                "aiops_telemetry_failures",
                "telemetry_failures",
                "Failures of the middleware.",
            ),
        ):
            family = CounterMetricFamily(name, text)
            family.add_metric([], totals[key])
            yield family
        queue = GaugeMetricFamily(
            "aiops_span_queue_depth", "Spans waiting to be written."
        )
        queue.add_metric([], totals["queued"])
        yield queue

    def _analysis(self):
        last = AnalysisRun.objects.filter(skipped="").order_by("-started_at").first()
        duration = GaugeMetricFamily(
            "aiops_analysis_cycle_duration_seconds",
            "Duration of the last analysis cycle.",
        )
        success = GaugeMetricFamily(
            "aiops_analysis_last_success_timestamp_seconds",
            "When the last analysis cycle completed (Unix time).",
        )
        if last is not None:
            duration.add_metric([], last.duration_ms / 1000.0)
            success.add_metric([], last.started_at.timestamp())
        incidents = GaugeMetricFamily(
            "aiops_incidents_active",
            "Open or acknowledged incidents.",
            labels=["severity"],
        )
        active = dict(
            Incident.objects.active().values_list("severity").annotate(n=Count("id"))
        )
        for severity in Severity.values:
            incidents.add_metric([severity], active.get(severity, 0))
        yield from (duration, success, incidents)


def render(now: datetime) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(now))
    return generate_latest(registry)
