"""Server-rendered SVG charts: no JavaScript, no libraries, works offline.

Each function returns SVG markup built from plain numbers. Every plotted value is a
``<circle class="point">`` on its line (up to a few hundred per series), so a page
that shows data shows dots, and an empty chart says "No data" instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 28


@dataclass
class Series:
    name: str
    points: list[tuple[float, float]]  # (epoch seconds, value)
    css: str = "series"


@dataclass
class Mark:
    """A shaded stretch of time (an anomaly, an incident), or a moment drawn as a
    vertical line when ``end`` is ``start`` (a deployment, a change)."""

    start: float
    end: float
    label: str
    css: str = "mark"


@dataclass
class Chart:
    title: str
    unit: str
    start: float
    end: float
    series: list[Series] = field(default_factory=list)
    band: list[tuple[float, float, float]] = field(
        default_factory=list
    )  # (t, low, high)
    marks: list[Mark] = field(default_factory=list)

    @property
    def unit_name(self) -> str:
        """The unit in words, for captions."""
        return {
            "ms": "milliseconds",
            "%": "percent of requests",
            "/s": "per second",
        }.get(self.unit, self.unit)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _label(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:g}%"
    if value >= 1000 and unit == "ms":
        return f"{value / 1000:g}s"
    return f"{value:g}{unit if unit != '/s' else ''}"


def _time(epoch: float, span: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%H:%M" if span <= 2 * 86400 else "%d %b %H:%M")


def render(chart: Chart) -> str:
    values = [v for s in chart.series for _, v in s.points] + [
        h for _, _, h in chart.band
    ]
    top = _nice_max(max(values, default=0.0) * 1.05)
    span = max(chart.end - chart.start, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - chart.start) / span * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - min(v, top) / top * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for mark in chart.marks:
        left, right = max(x(mark.start), LEFT), min(x(mark.end), WIDTH - RIGHT)
        if mark.end <= mark.start and LEFT <= x(mark.start) <= WIDTH - RIGHT:
            parts.append(
                f'<line class="{mark.css}" x1="{left:.1f}" x2="{left:.1f}" '
                f'y1="{TOP}" y2="{TOP + plot_h}"><title>{escape(mark.label)}</title>'
                "</line>"
            )
        elif right > left:
            parts.append(
                f'<rect class="{mark.css}" x="{left:.1f}" y="{TOP}" '
                f'width="{max(right - left, 2):.1f}" height="{plot_h}">'
                f"<title>{escape(mark.label)}</title></rect>"
            )
    for n in range(5):
        value = top * n / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{escape(_label(value, chart.unit))}</text>'
        )
    for n in range(5):
        t = chart.start + span * n / 4
        anchor = ("start", "middle", "middle", "middle", "end")[n]
        parts.append(
            f'<text class="axis" x="{x(t):.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="{anchor}">{_time(t, span)}</text>'
        )
    if chart.band:
        upper = " ".join(f"{x(t):.1f},{y(h):.1f}" for t, _, h in chart.band)
        lower = " ".join(f"{x(t):.1f},{y(lo):.1f}" for t, lo, _ in reversed(chart.band))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
        # The baseline itself as a dashed line: visible however thin the band is
        # next to a fault's latencies.
        base = " ".join(f"{x(t):.1f},{y(lo):.1f}" for t, lo, _ in chart.band)
        parts.append(
            f'<polyline class="baseline" points="{base}"><title>learned baseline'
            f"</title></polyline>"
        )
    for series in chart.series:
        if not series.points:
            continue
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in series.points)
        parts.append(f'<polyline class="line {series.css}" points="{line}"/>')
        parts.extend(
            f'<circle class="point {series.css}" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2">'
            f"<title>{escape(series.name)}: {escape(_label(round(v, 3), chart.unit))}"
            f"</title></circle>"
            for t, v in series.points
        )
    if not values:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
            f'text-anchor="middle">No data in this range</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass
class Bar:
    label: str
    offset_ms: float
    duration_ms: float
    depth: int
    failed: bool
    detail: str


def waterfall(
    bars: list[Bar], *, empty: str = "No spans of this trace are stored."
) -> str:
    """One trace: a bar per span, indented by depth, placed on the trace's clock."""
    if not bars:
        return f'<p class="empty">{escape(empty)}</p>'
    total = max(b.offset_ms + b.duration_ms for b in bars) or 1.0
    row, label_w = 22, 260
    height = row * len(bars) + 24
    plot_w = WIDTH - label_w - RIGHT
    parts = [
        f'<svg class="waterfall" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Trace waterfall" xmlns="http://www.w3.org/2000/svg">'
    ]
    for n, bar in enumerate(bars):
        top = n * row + 4
        left = label_w + bar.offset_ms / total * plot_w
        width = max(bar.duration_ms / total * plot_w, 2)
        css = "span failed" if bar.failed else "span"
        label = f"{bar.duration_ms:.1f} ms"
        # After the bar if it fits there, else inside its end (never on top of
        # the bar's edge).
        room = WIDTH - (left + width) - 6
        if room >= 7 * len(label):
            time = (
                f'<text class="span-time" x="{left + width + 4:.1f}" '
                f'y="{top + 13}">{label}</text>'
            )
        else:
            time = (
                f'<text class="span-time inside" x="{left + width - 4:.1f}" '
                f'y="{top + 13}" text-anchor="end">{label}</text>'
            )
        parts.append(
            f'<text class="span-label" x="{4 + 12 * bar.depth}" y="{top + 14}">'
            f"{escape(bar.label[:40])}</text>"
            f'<rect class="{css}" x="{left:.1f}" y="{top}" '
            f'width="{width:.1f}" height="16">'
            f"<title>{escape(bar.detail)}</title></rect>{time}"
        )
    parts.append(
        f'<text class="axis" x="{label_w}" y="{height - 4}">0 ms</text>'
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{height - 4}" '
        f'text-anchor="end">{total:.1f} ms</text></svg>'
    )
    return "".join(parts)


def service_map(
    names: list[str],
    depth: dict[str, int],
    edges: dict,
    health: dict,
    *,
    box_w: int = 150,
    empty: str = "No services yet: they appear with their first spans.",
) -> str:
    """Nodes in columns by call depth (callers left), edges with their rates."""
    if not names:
        return f'<p class="empty">{escape(empty)}</p>'
    columns: dict[int, list[str]] = {}
    for name in names:
        columns.setdefault(depth[name], []).append(name)
    box_h, gap_x, gap_y = 40, 90, 30
    chars = box_w // 7
    width = len(columns) * (box_w + gap_x) + 20
    height = max(len(c) for c in columns.values()) * (box_h + gap_y) + 20
    position = {}
    for column, members in sorted(columns.items()):
        for row, name in enumerate(members):
            position[name] = (20 + column * (box_w + gap_x), 10 + row * (box_h + gap_y))
    parts = [
        f'<svg class="service-map" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Service map" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>',
    ]
    for (caller, callee), edge in sorted(edges.items()):
        (x1, y1), (x2, y2) = position[caller], position[callee]
        css = "edge failing" if edge["errors"] >= 0.2 else "edge"
        parts.append(
            f'<line class="{css}" x1="{x1 + box_w}" y1="{y1 + box_h / 2}" x2="{x2}" '
            f'y2="{y2 + box_h / 2}" marker-end="url(#arrow)"/>'
            f'<text class="edge-label" x="{(x1 + box_w + x2) / 2}" '
            f'y="{(y1 + y2) / 2 + box_h / 2 - 4}" text-anchor="middle">'
            f"{edge['rate']:.2f}/s · {edge['errors']:.0%} err</text>"
        )
    for name, (x, y) in position.items():
        state = health.get(name, "idle")
        parts.append(
            f'<g class="node {state}"><rect x="{x}" y="{y}" width="{box_w}" '
            f'height="{box_h}" rx="6"/><text x="{x + box_w / 2}" y="{y + 17}" '
            f'text-anchor="middle">{escape(name[:chars])}<title>{escape(name)}</title>'
            f'</text><text class="state" '
            f'x="{x + box_w / 2}" y="{y + 32}" text-anchor="middle">{state}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
