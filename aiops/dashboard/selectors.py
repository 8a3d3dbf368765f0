"""Reads for the dashboard pages: aggregates (rollups, baselines, edges), never a
scan of raw spans except the handful of one example trace."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Max, Sum

from aiops.changes.models import Change
from aiops.dashboard.charts import Bar, Chart, Mark, Series
from aiops.detection.models import (
    SEVERITY_RANK,
    Anomaly,
    DependencyEdge,
    EndpointBaseline,
    EndpointRollup,
    Incident,
)
from aiops.detection.service_map import services
from aiops.telemetry.models import Span

RANGES = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400}
POINTS = 120
NOW_WINDOW = 300  # "now" on the overview: the last five minutes


def overview(*, now: datetime, idle_after: float) -> list[dict]:
    """Every endpoint: health, traffic, errors and latency now vs its baseline."""
    recent = {
        (r["service"], r["endpoint"]): r
        for r in EndpointRollup.objects.filter(
            at__gt=now - timedelta(seconds=NOW_WINDOW)
        )
        .values("service", "endpoint")
        .annotate(
            requests=Sum("requests"),
            errors=Sum("errors"),
            p50=Max("p50_ms"),
            p95=Max("p95_ms"),
        )
    }
    rows = []
    for service in services(now=now, idle_after=idle_after):
        for endpoint in service["endpoints"]:
            latest = recent.get((service["service"], endpoint["endpoint"]), {})
            requests = latest.get("requests") or 0
            rows.append(
                {
                    "service": service["service"],
                    **endpoint,
                    "rate_now": requests / NOW_WINDOW,
                    "error_rate_now": (latest.get("errors") or 0) / requests
                    if requests
                    else None,
                    "p50_now": latest.get("p50"),
                    "p95_now": latest.get("p95"),
                }
            )
    return rows


def _buckets(rows: list[EndpointRollup], start: float, end: float) -> list[dict]:
    width = (end - start) / POINTS
    grouped: dict[int, list[EndpointRollup]] = defaultdict(list)
    for row in rows:
        grouped[min(int((row.at.timestamp() - start) / width), POINTS - 1)].append(row)
    buckets = []
    for index in sorted(grouped):
        items = grouped[index]
        requests = sum(r.requests for r in items)
        seconds = sum(r.seconds for r in items) or width
        baselines = [r.baseline_ms for r in items if r.baseline_ms is not None]
        thresholds = [r.threshold_ms for r in items if r.threshold_ms is not None]
        buckets.append(
            {
                "t": start + (index + 0.5) * width,
                # Percentiles cannot be merged exactly: p50 is the request-weighted
                # mean, p95 and p99 the worst of the merged cycles.
                "p50": sum(r.p50_ms * r.requests for r in items) / requests
                if requests
                else 0,
                "p95": max(r.p95_ms for r in items),
                "p99": max(r.p99_ms for r in items),
                "baseline": sum(baselines) / len(baselines) if baselines else None,
                "threshold": sum(thresholds) / len(thresholds) if thresholds else None,
                "error_rate": sum(r.errors for r in items) / requests
                if requests
                else 0,
                "rate": requests / seconds,
            }
        )
    return buckets


def endpoint_charts(
    *, service: str, endpoint: str, now: datetime, seconds: int
) -> list[Chart]:
    start, end = now.timestamp() - seconds, now.timestamp()
    rows = list(
        EndpointRollup.objects.filter(
            service=service, endpoint=endpoint, at__gt=now - timedelta(seconds=seconds)
        ).order_by("at")
    )
    buckets = _buckets(rows, start, end)
    marks = [
        Mark(
            a.first_seen.timestamp(),
            a.last_seen.timestamp() + 30,
            f"{a.incident.public_id}: {a.summary}",
            f"mark {a.incident.severity}",
        )
        for a in Anomaly.objects.filter(
            service=service,
            endpoint=endpoint,
            last_seen__gt=now - timedelta(seconds=seconds),
        ).select_related("incident")
    ]
    marks += [
        Mark(c.at.timestamp(), c.at.timestamp(), c.describe(), "change")
        for c in Change.objects.filter(
            service=service, at__gt=now - timedelta(seconds=seconds), at__lte=now
        )[:50]
    ]
    latency = Chart(
        "Latency (p50, p95, p99) with the learned baseline band",
        "ms",
        start,
        end,
        series=[
            Series("p50", [(b["t"], b["p50"]) for b in buckets], "p50"),
            Series("p95", [(b["t"], b["p95"]) for b in buckets], "p95"),
            Series("p99", [(b["t"], b["p99"]) for b in buckets], "p99"),
        ],
        band=[
            (b["t"], b["baseline"], b["threshold"])
            for b in buckets
            if b["baseline"] is not None and b["threshold"] is not None
        ],
        marks=marks,
    )
    errors = Chart(
        "Error rate",
        "%",
        start,
        end,
        series=[
            Series("errors", [(b["t"], b["error_rate"]) for b in buckets], "errors")
        ],
        marks=marks,
    )
    rate = Chart(
        "Requests per second",
        "/s",
        start,
        end,
        series=[Series("requests/s", [(b["t"], b["rate"]) for b in buckets], "rate")],
        marks=marks,
    )
    return [latency, errors, rate]


def timeline(incident: Incident) -> list[tuple[datetime, str]]:
    """What happened, in order: the incident's events (opened, escalated,
    reopened, acknowledged, resolved, by whom), each anomaly's first sighting and
    every notification sent."""
    events = []
    for event in incident.events.all():
        text = f"{event.get_kind_display()}"
        if event.kind == "opened":
            text += f": {incident.title}" if event.at == incident.first_detected else ""
        if event.by and event.by != "system":
            text += f" by {event.by}"
        elif event.kind == "resolved":
            text += " by itself"
        if event.note:
            text += f" ({event.note})"
        events.append((event.at, text))
    for anomaly in incident.anomalies.all():
        events.append(
            (
                anomaly.first_seen,
                f"{anomaly.get_type_display()} on "
                f"{anomaly.service}/{anomaly.endpoint}: {anomaly.summary}",
            )
        )
    for notification in incident.notifications.select_related("channel").exclude(
        sent_at=None
    ):
        events.append(
            (
                notification.sent_at,
                f"Sent to {notification.channel.name} ({notification.event})",
            )
        )
    if incident.is_active:
        events.append((incident.last_seen, "Last seen"))
    return sorted(events, key=lambda e: e[0])


def example_traces(incident: Incident, limit: int = 10) -> list[dict]:
    """The incident's example traces, most recent episode first (an incident that
    reopened shows the fault as it is now), each with when it started, its entry
    endpoint, how long it took and whether it failed; only traces still stored."""
    ordered: list[str] = []
    for anomaly in sorted(
        incident.anomalies.all(), key=lambda a: a.last_seen, reverse=True
    ):
        ordered += [t for t in anomaly.example_trace_ids if t not in ordered]
    ordered += [t for t in incident.trace_ids if t not in ordered]
    ordered = ordered[: 3 * limit]
    first: dict[str, Span] = {}
    for span in Span.objects.filter(trace_id__in=ordered).order_by("start_time")[:5000]:
        first.setdefault(span.trace_id, span)
    return [
        {
            "trace_id": t,
            "start": first[t].start_time,
            "entry": f"{first[t].service}/{first[t].endpoint}",
            "duration_ms": first[t].duration_ms,
            "failed": first[t].is_error,
        }
        for t in ordered
        if t in first
    ][:limit]


def trace_bars(trace_id: str) -> list[Bar]:
    """The spans of one trace, parents before children, on the trace's clock."""
    spans = list(Span.objects.filter(trace_id=trace_id).order_by("start_time")[:200])
    if not spans:
        return []
    origin = spans[0].start_time
    children: dict[str | None, list[Span]] = defaultdict(list)
    ids = {s.span_id for s in spans}
    for span in spans:
        children[span.parent_span_id if span.parent_span_id in ids else None].append(
            span
        )
    bars: list[Bar] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            offset = (span.start_time - origin).total_seconds() * 1000.0
            status = span.status_code if span.status_code is not None else "-"
            label = f"{span.service}: {span.endpoint}"
            if span.kind != "server":
                label = f"{span.service} -> {span.peer or span.endpoint}"
            bars.append(
                Bar(
                    label,
                    offset,
                    span.duration_ms,
                    depth,
                    span.is_error,
                    f"{span.kind} {span.method} {span.endpoint} status {status}"
                    + (
                        f" {span.error_type}: {span.error_message}"
                        if span.is_error
                        else ""
                    ),
                )
            )
            if span.query_count:
                bars.append(_database_bar(span, offset, depth + 1))
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return bars


def _database_bar(span: Span, offset: float, depth: int) -> Bar:
    """A request's queries, together: the database as detection sees it
    (``aiops.detection.core.database``)."""
    detail = f"{span.query_count} queries, {span.query_ms or 0.0:.1f} ms in all"
    if span.top_query:
        detail += f"; {span.top_query_count} x {span.top_query}"
    return Bar(
        f"database: {span.query_count} queries",
        offset,
        span.query_ms or 0.0,
        depth,
        False,
        detail,
    )


def service_graph() -> dict:
    """Services as nodes, layered by call depth, with aggregated edges."""
    health = {s["service"]: s["health"] for s in services(now=_now(), idle_after=1800)}
    edges: dict[tuple[str, str], dict] = {}
    for edge in DependencyEdge.objects.all():
        if edge.caller_service == edge.callee_service:
            continue
        key = (edge.caller_service, edge.callee_service)
        item = edges.setdefault(key, {"rate": 0.0, "errors": 0.0})
        item["rate"] += edge.call_rate or 0.0
        item["errors"] = max(item["errors"], edge.error_rate or 0.0)
    names = sorted(set(health) | {n for pair in edges for n in pair})
    depth = {name: 0 for name in names}
    for _ in names:  # longest path from the callers, bounded against cycles
        for caller, callee in edges:
            depth[callee] = max(depth[callee], min(depth[caller] + 1, len(names)))
    return {"names": names, "depth": depth, "edges": edges, "health": health}


MAX_MAP_ENDPOINTS = 60


def endpoint_graph() -> dict | None:
    """Endpoints as nodes (calls inside one service count: the demo shop is one
    service), or None when there are too many to draw."""
    health = {
        f"{s['service']}/{e['endpoint']}": e["health"]
        for s in services(now=_now(), idle_after=1800)
        for e in s["endpoints"]
    }
    edges: dict[tuple[str, str], dict] = {}
    for edge in DependencyEdge.objects.all():
        key = (
            f"{edge.caller_service}/{edge.caller_endpoint}",
            f"{edge.callee_service}/{edge.callee_endpoint}",
        )
        edges[key] = {"rate": edge.call_rate or 0.0, "errors": edge.error_rate or 0.0}
    names = sorted(set(health) | {n for pair in edges for n in pair})
    if not names or len(names) > MAX_MAP_ENDPOINTS:
        return None
    depth = {name: 0 for name in names}
    for _ in names:
        for caller, callee in edges:
            depth[callee] = max(depth[callee], min(depth[caller] + 1, len(names)))
    return {"names": names, "depth": depth, "edges": edges, "health": health}


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def worst_severity(incidents) -> str | None:
    return max((i.severity for i in incidents), key=SEVERITY_RANK.get, default=None)


def endpoint_names() -> list[tuple[str, str]]:
    return list(
        EndpointBaseline.objects.order_by("service", "endpoint").values_list(
            "service", "endpoint"
        )
    )
