"""Per-endpoint statistics over a recent window (``GET /aiops/metrics``)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Min

from aiops.detection.core.stats import quantile
from aiops.detection.core.window import ENDPOINT_KINDS
from aiops.detection.models import EndpointBaseline
from aiops.telemetry.models import Span


def _round(value: float, digits: int = 3) -> float:
    return round(value, digits)


def endpoint_metrics(*, now: datetime, window: float) -> dict[str, dict]:
    """Stats per endpoint over (now - window, now], with the learned baselines.

    Keyed by endpoint name as in the prototype; where several services share an
    endpoint name, those entries are keyed ``service/endpoint`` instead.
    """
    spans = Span.objects.filter(
        kind__in=ENDPOINT_KINDS,
        start_time__gt=now - timedelta(seconds=window),
        start_time__lte=now,
    ).values_list("service", "endpoint", "duration_ms", "status_code", "is_error")
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    statuses: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    errors: dict[tuple[str, str], int] = defaultdict(int)
    for service, endpoint, duration, status, is_error in spans.iterator(
        chunk_size=5000
    ):
        key = (service, endpoint)
        durations[key].append(duration)
        label = str(status) if status is not None else "unset"
        statuses[key][label] = statuses[key].get(label, 0) + 1
        errors[key] += is_error
    baselines = {(b.service, b.endpoint): b for b in EndpointBaseline.objects.all()}
    # Rates over the time there was telemetry at all: a system that started a
    # minute ago has not been idle for the other four minutes of the window.
    first = Span.objects.aggregate(first=Min("start_time"))["first"]
    observed = window
    if first is not None and first > now - timedelta(seconds=window):
        observed = max((now - first).total_seconds(), 1.0)

    entries: dict[tuple[str, str], dict] = {}
    names = defaultdict(int)
    for _, endpoint in set(durations) | set(baselines):
        names[endpoint] += 1
    for key in sorted(set(durations) | set(baselines)):
        service, endpoint = key
        values = sorted(durations.get(key, []))
        count = len(values)
        baseline = baselines.get(key)
        entry = {
            "service": service,
            "endpoint": endpoint,
            "request_count": count,
            "request_rate": _round(count / observed, 4),
            "avg_latency_ms": _round(sum(values) / count) if count else None,
            "p50_latency_ms": _round(quantile(values, 0.5)) if count else None,
            "p95_latency_ms": _round(quantile(values, 0.95)) if count else None,
            "p99_latency_ms": _round(quantile(values, 0.99)) if count else None,
            "error_rate": _round(errors[key] / count, 4) if count else 0.0,
            "status_distribution": dict(sorted(statuses.get(key, {}).items())),
            "baseline_latency_ms": _round(baseline.latency_ms) if baseline else None,
            "baseline_error_rate": _round(baseline.error_rate, 4) if baseline else None,
            "baseline_request_rate": _round(baseline.request_rate, 4)
            if baseline
            else None,
            "baseline_samples": baseline.sample_count if baseline else 0,
        }
        entry["health"] = health(entry)
        entries[key] = entry
    return _keyed(entries, names)


def _keyed(entries: dict[tuple[str, str], dict], names: dict[str, int]) -> dict:
    """Entries under their endpoint name (the prototype's keys), or
    ``service/endpoint`` where services share the name. A key two entries would
    share (a service named to collide: endpoint "shop/payment" elsewhere) takes
    neither: both get an unambiguous JSON key, ``["service", "endpoint"]``."""
    wanted = {
        key: key[1] if names[key[1]] == 1 else f"{key[0]}/{key[1]}" for key in entries
    }
    taken: dict[str, int] = defaultdict(int)
    for label in wanted.values():
        taken[label] += 1
    return {
        (label if taken[label] == 1 else json.dumps(list(key))): entries[key]
        for key, label in wanted.items()
    }


def health(entry: dict) -> dict:
    """The prototype's per-endpoint ``health``: a status and a 0-100 score, from
    the window's error rate and its p95 latency against the learned latency."""
    if not entry["request_count"]:
        return {"status": "idle", "health_score": 100}
    score = 100.0 - min(entry["error_rate"] * 200.0, 70.0)
    baseline, p95 = entry["baseline_latency_ms"], entry["p95_latency_ms"]
    if baseline and p95 and entry["baseline_samples"] >= 20:
        ratio = p95 / baseline
        if ratio > 3:
            score -= 40
        elif ratio > 1.5:
            score -= 15
    score = max(round(score), 0)
    status = "healthy" if score >= 80 else "degraded" if score >= 50 else "unhealthy"
    return {"status": status, "health_score": score}
