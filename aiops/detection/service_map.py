"""Reads for the service map: services with their endpoints' health, and edges."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from aiops.detection.models import (
    SEVERITY_RANK,
    DependencyEdge,
    EndpointBaseline,
    Incident,
)

HEALTH_BY_SEVERITY = {
    "critical": "failing",
    "high": "failing",
    "medium": "degraded",
    "low": "degraded",
}
HEALTH_RANK = {"idle": 0, "ok": 1, "degraded": 2, "failing": 3}


def _troubled(now: datetime) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Worst active-incident severity and incident ids per affected endpoint."""
    result: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for public_id, severity, affected in Incident.objects.active().values_list(
        "public_id", "severity", "affected"
    ):
        for service, endpoint in affected:
            worst, ids = result.get((service, endpoint), ("low", []))
            if SEVERITY_RANK[severity] > SEVERITY_RANK[worst] or not ids:
                worst = severity
            result[(service, endpoint)] = (worst, ids + [public_id])
    return result


def services(*, now: datetime, idle_after: float) -> list[dict]:
    troubled = _troubled(now)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in EndpointBaseline.objects.order_by("service", "endpoint"):
        severity, incidents = troubled.get((row.service, row.endpoint), (None, []))
        if severity:
            health = HEALTH_BY_SEVERITY[severity]
        elif row.last_seen is None or row.last_seen < now - timedelta(
            seconds=idle_after
        ):
            health = "idle"
        else:
            health = "ok"
        grouped[row.service].append(
            {
                "endpoint": row.endpoint,
                "health": health,
                "request_rate": round(row.request_rate, 4),
                "error_rate": round(row.error_rate, 4),
                "latency_ms": round(row.latency_ms, 3),
                "requests_total": row.requests_total,
                "last_seen": row.last_seen,
                "incidents": incidents,
            }
        )
    return [
        {
            "service": service,
            "health": max(
                (e["health"] for e in endpoints), key=HEALTH_RANK.__getitem__
            ),
            "endpoints": endpoints,
        }
        for service, endpoints in sorted(grouped.items())
    ]


def dependencies() -> list[dict]:
    return [
        {
            "caller": {"service": e.caller_service, "endpoint": e.caller_endpoint},
            "callee": {"service": e.callee_service, "endpoint": e.callee_endpoint},
            "call_rate": round(e.call_rate or 0.0, 4),
            "error_rate": round(e.error_rate or 0.0, 4),
            "latency_ms": None if e.latency_ms is None else round(e.latency_ms, 3),
            "network_ms": None if e.gap_ms is None else round(e.gap_ms, 3),
            "calls_total": e.call_count,
            "errors_total": e.error_count,
            "first_seen": e.first_seen,
            "last_seen": e.last_seen,
        }
        for e in DependencyEdge.objects.order_by(
            "caller_service", "caller_endpoint", "callee_service", "callee_endpoint"
        )
    ]
