"""The regression view: what a change did to its service's endpoints.

Per endpoint, the requests of the same length of time before and after the
change (at least a minute, at most an hour): count, error rate, median and p95
latency, and per version after it when several serve side by side. Whether or
not an incident opened: "p95 +35 % since 1.4.2".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiops.changes.models import Change
from aiops.detection.core.stats import quantile
from aiops.detection.core.window import ENDPOINT_KINDS
from aiops.telemetry.models import Span

MIN_SPAN = 60.0
MAX_SPAN = 3600.0
# Endpoints shown, and durations read per endpoint and side (newest first).
MAX_ENDPOINTS = 50
MAX_DURATIONS = 5000


def _side(spans) -> dict:
    rows = list(
        spans.order_by("-start_time").values_list("duration_ms", "is_error")[
            :MAX_DURATIONS
        ]
    )
    requests = len(rows)
    errors = sum(1 for _, failed in rows if failed)
    served = sorted(d for d, failed in rows if not failed)
    return {
        "requests": requests,
        "error_rate": round(errors / requests, 4) if requests else None,
        "p50_ms": round(quantile(served, 0.5), 3) if served else None,
        "p95_ms": round(quantile(served, 0.95), 3) if served else None,
    }


def _change_words(before: dict, after: dict, version: str) -> str:
    words = []
    if before["p95_ms"] and after["p95_ms"] is not None:
        delta = (after["p95_ms"] / before["p95_ms"] - 1.0) * 100.0
        words.append(f"p95 {delta:+.0f} %")
    if before["error_rate"] is not None and after["error_rate"] is not None:
        delta = (after["error_rate"] - before["error_rate"]) * 100.0
        words.append(f"errors {delta:+.1f} points")
    since = f"since {version}" if version else "since the change"
    return f"{', '.join(words)} {since}" if words else "no requests to compare"


def impact(change: Change, *, now: datetime) -> dict:
    span = min(max((now - change.at).total_seconds(), MIN_SPAN), MAX_SPAN)
    before_from = change.at - timedelta(seconds=span)
    after_to = change.at + timedelta(seconds=span)
    spans = Span.objects.filter(service=change.service, kind__in=ENDPOINT_KINDS)
    endpoints = list(
        spans.filter(start_time__gte=before_from, start_time__lt=after_to)
        .values_list("endpoint", flat=True)
        .distinct()
        .order_by("endpoint")[:MAX_ENDPOINTS]
    )
    rows = []
    for endpoint in endpoints:
        mine = spans.filter(endpoint=endpoint)
        before = _side(
            mine.filter(start_time__gte=before_from, start_time__lt=change.at)
        )
        after_spans = mine.filter(start_time__gte=change.at, start_time__lt=after_to)
        after = _side(after_spans)
        versions = sorted(
            v for v in after_spans.values_list("version", flat=True).distinct() if v
        )
        row = {
            "endpoint": endpoint,
            "before": before,
            "after": after,
            "summary": _change_words(before, after, change.version),
        }
        if len(versions) > 1:
            row["after_by_version"] = {
                v: _side(after_spans.filter(version=v)) for v in versions[:10]
            }
        rows.append(row)
    return {
        "seconds_compared": span,
        "before_from": before_from.isoformat(),
        "after_to": after_to.isoformat(),
        "endpoints": rows,
    }
