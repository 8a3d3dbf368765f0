"""How the admin shows an incident: badges, short titles, tables instead of raw
JSON, rounded numbers, times with seconds and zone."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from aiops.detection.models import Incident

COLOURS = {
    "critical": "#b42318",
    "high": "#d9480f",
    "medium": "#b08800",
    "low": "#57606a",
    "open": "#b42318",
    "acknowledged": "#b08800",
    "resolved": "#1a7f37",
}
TIME = "%Y-%m-%d %H:%M:%S %Z"


def badge(value: str) -> str:
    return format_html(
        '<span style="background:{};color:#fff;border-radius:9px;padding:1px 8px;'
        'font-size:11px;white-space:nowrap">{}</span>',
        COLOURS.get(value, "#57606a"),
        value,
    )


def when(value: datetime | None) -> str:
    return value.strftime(TIME) if value else "-"


def short(text: str, chars: int = 60) -> str:
    return format_html('<span title="{}">{}</span>', text, Truncator(text).chars(chars))


def number(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def table(headers: list[str], rows: list[list]) -> str:
    if not rows:
        return "-"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),)
            for row in rows
        ),
    )
    return format_html(
        '<table style="min-width:420px"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table>",
        head,
        body,
    )


def candidates(incident: Incident) -> str:
    return table(
        ["#", "Service", "Endpoint", "Share of the evidence"],
        [
            [n, c["service"], c["endpoint"], f"{c['score']:.0%}"]
            for n, c in enumerate(incident.candidates, start=1)
        ],
    )


def affected(incident: Incident) -> str:
    return table(["Service", "Endpoint"], [list(pair) for pair in incident.affected])


def evidence(incident: Incident) -> str:
    shown = {
        k: v
        for k, v in incident.evidence.items()
        if k not in ("cumulative_votes", "example_spans", "peak", "faults")
    }
    parts = [
        table(
            ["Evidence", "Value"],
            [
                [key.replace("_", " "), _flat(value)]
                for key, value in sorted(shown.items())
            ],
        )
    ]
    spans = incident.evidence.get("example_spans") or []
    if spans:
        parts.append(
            table(
                ["Span", "Duration ms", "Own ms", "Expected ms", "Status", "Trace"],
                [
                    [
                        f"{s['service']}/{s['endpoint']}",
                        number(s.get("duration_ms")),
                        number(s.get("self_time_ms")) if s.get("self_time_ms") else "-",
                        number(s.get("expected_ms")) if s.get("expected_ms") else "-",
                        s.get("status") or ("error" if s.get("error") else "-"),
                        trace_link(incident, s.get("trace_id") or ""),
                    ]
                    for s in spans
                ],
            )
        )
    faults = incident.evidence.get("faults") or []
    if faults:
        parts.append(
            table(
                ["Service", "Endpoint", "Kind", "Severity", "Seen"],
                [
                    [f["service"], f["endpoint"], f["kind"], f["severity"], f["issue"]]
                    for f in faults
                ],
            )
        )
    return format_html_join("", "{}<br>", ((p,) for p in parts))


def _flat(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {number(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(number(v) for v in value)
    return number(value)


def trace_link(incident: Incident, trace_id: str) -> str:
    if not trace_id:
        return "-"
    url = reverse("dashboard:incident", args=[incident.public_id])
    return format_html('<a href="{}?trace={}">{}</a>', url, trace_id, trace_id[:16])


def traces(incident: Incident) -> str:
    return (
        format_html_join(
            " ", "{}", ((trace_link(incident, t),) for t in incident.trace_ids)
        )
        or "-"
    )


def dashboard_link(incident: Incident) -> str:
    url = reverse("dashboard:incident", args=[incident.public_id])
    return format_html(
        '<a href="{}">Open {} in the dashboard</a>', url, incident.public_id
    )


def when_short(value: datetime | None) -> str:
    """For lists: month, day and time to the second (UTC, as the column says)."""
    return format_html(
        '<span style="white-space:nowrap">{}</span>',
        value.strftime("%m-%d %H:%M:%S") if value else "-",
    )


def measure(anomaly_type: str, value: float) -> str:
    """An anomaly's observed or expected value in its unit."""
    if anomaly_type == "error_spike":
        return f"{value:.1%}"
    if anomaly_type == "timeout_issue":
        return f"{value:.0f} requests"
    return f"{value:,.1f} ms"
